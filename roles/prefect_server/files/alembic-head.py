"""Print the database revision this venv's Prefect server expects (its alembic head)
for a dialect (sqlite or postgresql): what a newer server's database is downgraded
to before this older server starts on it. Run with the venv's own python."""
import os
import sys

import prefect.server.database
from alembic.script import ScriptDirectory
from prefect.server.database.alembic_commands import alembic_config

config = alembic_config()
versions = os.path.join(os.path.dirname(prefect.server.database.__file__), "_migrations", "versions", sys.argv[1])
config.set_main_option("version_locations", versions)
print(" ".join(ScriptDirectory.from_config(config).get_heads()))
