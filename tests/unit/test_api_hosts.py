"""plugins/filter/api_hosts.py: one Prefect API, however its URL is spelled."""
import pytest

from conftest import load_plugin

f = load_plugin("plugins/filter/api_hosts.py")


@pytest.mark.parametrize("spelling", [
    "https://prefect.nsls2.example.org/api",
    "https://Prefect.NSLS2.example.org/api/",
    "https://prefect.nsls2.example.org:443/api",
    "https://prefect.nsls2.example.org./api",
    "HTTPS://prefect.nsls2.example.org/api",
])
def test_spellings_of_one_api_are_one_api(spelling):
    assert f.api_key(spelling) == "https://prefect.nsls2.example.org/api"


@pytest.mark.parametrize("other", [
    "http://prefect.nsls2.example.org/api",        # another scheme
    "https://prefect.nsls2.example.org:8443/api",  # another port
    "https://prefect-stg.nsls2.example.org/api",   # another host
    "https://prefect.nsls2.example.org/staging/api",
])
def test_other_apis_stay_apart(other):
    assert f.api_key(other) != f.api_key("https://prefect.nsls2.example.org/api")


def test_ports_and_ipv6():
    assert f.api_key("http://127.0.0.1:80/api") == "http://127.0.0.1/api"
    assert f.api_key("http://127.0.0.1:4200/api/") == "http://127.0.0.1:4200/api"
    assert f.api_key("http://[::1]:4200/api") == "http://[::1]:4200/api"


def test_hosts_of_an_api_in_order():
    hostvars = {"a": {"u": "https://P.example.org:443/api"}, "b": {"u": "https://p.example.org/api/"},
                "c": {"u": "https://q.example.org/api"}, "d": {}}
    assert f.api_hosts(["b", "c", "a", "d"], hostvars, "https://p.example.org/api", "u") == ["b", "a"]
