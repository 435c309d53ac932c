"""plugins/filter/systemd_env.py: how values are written to environment files.
molecule/e2e (test_e2e.py) reads such a file back through systemd itself."""
import pytest
from ansible.errors import AnsibleFilterError
from conftest import load_plugin

systemd_env = load_plugin("plugins/filter/systemd_env.py")


@pytest.mark.parametrize("value", ["http://127.0.0.1:4200/api", "/opt/mlex_prefect_worker", "admin:plain-Pass_1"])
def test_plain_values_are_written_as_they_are(value):
    assert systemd_env.systemd_env_value(value) == value


@pytest.mark.parametrize("value, written", [
    ("admin:pa\\ss", '"admin:pa\\\\ss"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("$HOME `id`", '"\\$HOME \\`id\\`"'),
    ("trailing blank ", '"trailing blank "'),
])
def test_other_values_are_double_quoted_with_systemds_four_escapes(value, written):
    assert systemd_env.systemd_env_value(value) == written


@pytest.mark.parametrize("value", ["a\nB=1", "tab\there", "nul\x00"])
def test_control_characters_are_refused_by_name_only(value):
    with pytest.raises(AnsibleFilterError) as err:
        systemd_env.systemd_env_value(value, "pwb_prefect_api_auth_string")
    assert "pwb_prefect_api_auth_string" in str(err.value) and value not in str(err.value)
