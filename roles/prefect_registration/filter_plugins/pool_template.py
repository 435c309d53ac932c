"""Filter: a work pool's base job template that carries the bundle's infrastructure.

Prefect renders a flow run's job configuration from the pool's base job template:
each `{{ name }}` placeholder takes the run's job variable `name` (deployment, then
flow run) or the variable's default. A value written literally into the
`job_configuration` instead, with its variable removed from the schema, is what
every run gets: deployments and flow runs that still set it are accepted and have no
effect. That is how a variable is locked (the socket, volumes, image: root on a
rootful host); the variables an inventory leaves overridable keep their placeholder,
with the bundle's value as their default.
"""

from __future__ import annotations

import copy


def pool_template(default, settings, overridable):
    """Prefect's default template `default` with `settings` applied.

    settings: variable -> the bundle's value. overridable: the variables deployments
    and flow runs may still set. Every other variable is locked to the bundle's
    value, or to Prefect's own default when the bundle sets none.
    """
    template = copy.deepcopy(default)
    variables = template["variables"]
    properties = variables["properties"]
    for what, names in (("settings", settings), ("overridable", overridable)):
        unknown = sorted(set(names) - set(properties))
        if unknown:
            # ValueError, not Ansible's: tests/worker runs this in the locked Prefect's venv.
            raise ValueError(
                f"{what} name job variables this pool type does not have: {unknown}"
                f" (it has: {sorted(properties)})")
    for name in list(properties):
        if name in overridable:
            if name in settings:
                properties[name]["default"] = settings[name]
            continue
        value = settings[name] if name in settings else properties[name].get("default")
        if value is None:
            # Unset: the job configuration's own default, as with no value at all.
            template["job_configuration"].pop(name, None)
        else:
            template["job_configuration"][name] = value
        del properties[name]
    if "required" in variables:
        variables["required"] = [name for name in variables["required"] if name in properties]
    return template


class FilterModule:
    def filters(self):
        return {"prefect_pool_template": pool_template}
