"""Unit tests of the worker sizing formula (plugins/filter/gunicorn_sizing.py)."""

import importlib.util
import pathlib

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "filter" / "gunicorn_sizing.py"
_SPEC = importlib.util.spec_from_file_location("gunicorn_sizing", _PATH)
sizing = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sizing)

BIG = 64 * 1024  # MB: enough memory that the cap never bites


@pytest.mark.parametrize("vcpus, expected", [(1, 3), (2, 5), (4, 9), (16, 33)])
def test_cpu_profile_is_two_per_vcpu_plus_one_sync(vcpus, expected):
    result = sizing.gunicorn_sizing("cpu", vcpus=vcpus, memory_mb=BIG)
    assert result["worker_class"] == "sync"
    assert result["workers"] == expected
    assert result["threads"] == 1


@pytest.mark.parametrize("vcpus, workers", [(1, 2), (2, 3), (4, 5), (8, 9)])
def test_io_profile_gives_every_worker_the_whole_concurrency(vcpus, workers):
    # Keep-alive connections stick to the worker that accepted them, so each worker's pool must
    # hold the whole concurrency on its own.
    result = sizing.gunicorn_sizing("io", vcpus=vcpus, memory_mb=BIG, concurrency=64)
    assert result["worker_class"] == "gthread"
    assert (result["workers"], result["threads"]) == (workers, 64)


def test_io_profile_with_gevent_sizes_connections():
    result = sizing.gunicorn_sizing("io", vcpus=2, memory_mb=BIG, worker_class="gevent", concurrency=3000)
    assert result == {**result, "worker_class": "gevent", "workers": 3, "threads": 1, "worker_connections": 3000}


def test_gevent_pool_is_never_smaller_than_gunicorns_default():
    # Idle keep-alive connections count against gevent's pool: a pool as small as the concurrency
    # fills with Nginx's upstream connections and stops accepting new ones.
    result = sizing.gunicorn_sizing("io", vcpus=2, memory_mb=BIG, worker_class="gevent", concurrency=64)
    assert result["worker_connections"] == 1000
    explicit = sizing.gunicorn_sizing("io", vcpus=2, memory_mb=BIG, worker_class="gevent", worker_connections=50)
    assert explicit["worker_connections"] == 50


@pytest.mark.parametrize("vcpus, expected", [(1, 2), (2, 2), (4, 4)])
def test_async_profile_is_one_uvicorn_worker_per_vcpu(vcpus, expected):
    result = sizing.gunicorn_sizing("async", vcpus=vcpus, memory_mb=BIG)
    assert result["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert result["workers"] == expected


def test_memory_caps_the_computed_count():
    # 1024 MB - 512 reserved = 512 MB / 128 MB per worker = 4 workers, not 2*8+1.
    result = sizing.gunicorn_sizing("cpu", vcpus=8, memory_mb=1024)
    assert result["workers"] == 4
    assert result["memory_cap"] == 4


def test_memory_cap_never_goes_below_one():
    assert sizing.gunicorn_sizing("cpu", vcpus=4, memory_mb=256)["workers"] == 1


def test_explicit_numbers_override_and_are_not_capped():
    result = sizing.gunicorn_sizing("io", vcpus=2, memory_mb=600, workers=6, threads=4)
    assert (result["workers"], result["threads"]) == (6, 4)


@pytest.mark.parametrize(
    "profile, worker_class",
    [("cpu", "gevent"), ("async", "sync"), ("io", "uvicorn_worker.UvicornWorker"), ("io", "sync")],
)
def test_worker_class_must_fit_the_profile(profile, worker_class):
    with pytest.raises(ValueError, match="does not fit profile"):
        sizing.gunicorn_sizing(profile, vcpus=2, memory_mb=BIG, worker_class=worker_class)


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match="profile must be one of"):
        sizing.gunicorn_sizing("batch", vcpus=2, memory_mb=BIG)


def test_threads_need_gthread():
    with pytest.raises(ValueError, match="gthread"):
        sizing.gunicorn_sizing("cpu", vcpus=2, memory_mb=BIG, threads=4)


def test_negative_numbers_are_rejected():
    with pytest.raises(ValueError, match="workers must be >= 0"):
        sizing.gunicorn_sizing("cpu", vcpus=2, memory_mb=BIG, workers=-1)


def test_filter_is_registered():
    assert "gunicorn_sizing" in sizing.FilterModule().filters()
