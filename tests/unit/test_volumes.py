"""plugins/filter/volumes.py: the host paths a job volume list needs on a worker host."""
from conftest import load_plugin

f = load_plugin("plugins/filter/volumes.py")


def test_host_paths_are_absolute_normalised_and_listed_once():
    volumes = ["/srv/data:/data:ro", "/srv//data/:/again", "scratch:/scratch", "/nsls2/x/../y:/y", "no-colon"]
    assert f.volume_host_paths(volumes) == ["/srv/data", "/nsls2/y"]


def test_no_volumes_no_paths():
    assert f.volume_host_paths([]) == []
