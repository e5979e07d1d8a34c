import pytest

from shardy.config import Settings
from shardy.errors import ConfigError


def test_defaults_use_embedded_redis_and_sqlite(tmp_path):
    s = Settings.from_env({"SHARDY_HOME": str(tmp_path)})
    assert s.embedded
    assert s.broker == f"redis+socket://{tmp_path}/redis.sock"
    assert s.result_backend == s.broker
    assert s.blob_redis_url == f"unix://{tmp_path}/redis.sock"
    assert s.database == f"sqlite:///{tmp_path}/shardy.db"
    assert (s.redundancy_factor, s.effective_quorum, s.effective_max_replicas) == (3, 2, 6)


def test_env_values_are_parsed_and_checked():
    s = Settings.from_env(
        {"SHARDY_REDUNDANCY_FACTOR": "5", "SHARDY_QUORUM": "4", "SHARDY_WASM": "off"}
    )
    assert (s.redundancy_factor, s.effective_quorum, s.wasm) == (5, 4, False)
    with pytest.raises(ConfigError, match="SHARDY_REDUNDANCY_FACTOR='x'"):
        Settings.from_env({"SHARDY_REDUNDANCY_FACTOR": "x"})
    with pytest.raises(ConfigError, match="between 1 and R=3"):
        Settings.from_env({"SHARDY_QUORUM": "4"})
    with pytest.raises(ConfigError, match="below the redundancy"):
        Settings.from_env({"SHARDY_MAX_REPLICAS": "2"})


def test_amqp_broker_needs_a_redis_result_backend():
    s = Settings.from_env({"SHARDY_BROKER_URL": "amqp://guest:secret@localhost//"})
    with pytest.raises(ConfigError, match=r"guest:\*\*\*@localhost"):
        _ = s.result_backend
    s = s.replace(result_url="redis://localhost:6379/1")
    assert s.blob_redis_url == "redis://localhost:6379/1"
