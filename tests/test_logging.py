"""Log settings: per-module levels, JSON lines, a rotated log file, and their config errors."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from cybermiles_node.config import LogSettings, parse_config
from cybermiles_node.errors import ConfigError
from cybermiles_node.logs import LogLevels, configure_logging, parse_log_levels


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    touched = ("consensus", "p2p", "rpc")
    levels = {name: logging.getLogger(name).level for name in touched}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_default_and_module_levels() -> None:
    assert parse_log_levels("info") == LogLevels(logging.INFO)
    assert parse_log_levels("warning, consensus=debug,p2p.switch=error") == LogLevels(
        logging.WARNING, (("consensus", logging.DEBUG), ("p2p.switch", logging.ERROR)))


@pytest.mark.parametrize("spec, message", [
    ("loud", "log_level: one of debug, info, warning, error, got 'loud'"),
    ("info,consensus", "log_level: expected MODULE=LEVEL after the default level, got 'consensus'"),
    ("info,consensus=chatty", "log_level (consensus): one of debug, info, warning, error, got 'chatty'"),
    ("info,../x=debug", "expected MODULE=LEVEL"),
    ("info," + ",".join(f"m{i}=debug" for i in range(65)), "at most 64 module levels"),
])
def test_bad_levels_are_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_log_levels(spec)


def test_json_lines_parse_and_module_levels_apply() -> None:
    stream = io.StringIO()
    configure_logging(parse_log_levels("warning,consensus=debug"), "json", stream=stream)
    logging.getLogger("consensus.driver").debug("height %d round %d", 7, 0)
    logging.getLogger("rpc.server").info("not shown: rpc follows the default level")
    try:
        raise ValueError("boom \"quoted\"\nsecond line")
    except ValueError:
        logging.getLogger("p2p.switch").exception("handler failed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["level"], line["logger"], line["message"]) for line in lines] == [
        ("debug", "consensus.driver", "height 7 round 0"),
        ("error", "p2p.switch", "handler failed"),
    ]
    assert lines[0]["time"].endswith("Z") and "T" in lines[0]["time"]
    assert "ValueError: boom" in lines[1]["exception"]


def test_text_lines() -> None:
    stream = io.StringIO()
    configure_logging(parse_log_levels("info"), "text", stream=stream)
    logging.getLogger("cmnode").info("committed block %d", 3)
    assert stream.getvalue().rstrip().endswith("INFO  cmnode: committed block 3")


def test_log_file_rotates_and_keeps_backups(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "node.log"
    configure_logging(parse_log_levels("info"), "json", log_file, file_max_bytes=2_000, file_backups=2,
                      stream=io.StringIO())
    for index in range(200):
        logging.getLogger("cmnode").info("line %d %s", index, "x" * 40)
    files = sorted(path.name for path in log_file.parent.iterdir())
    assert files == ["node.log", "node.log.1", "node.log.2"]
    assert all(path.stat().st_size <= 2_000 for path in log_file.parent.iterdir())
    last = log_file.read_text().splitlines()[-1]
    assert json.loads(last)["message"].startswith("line 199 ")


def test_config_log_settings() -> None:
    config = parse_config({"node": {"log_level": "info,rpc=debug", "log_format": "json", "log_file": "node.log",
                                    "log_file_max_bytes": 1_048_576, "log_file_backups": 3}})
    assert config.logs == LogSettings("json", "node.log", 1_048_576, 3)
    assert config.log_level == "info,rpc=debug"
    with pytest.raises(ConfigError, match=r"node\.log_format: one of text, json, got 'xml'"):
        parse_config({"node": {"log_format": "xml"}})
    with pytest.raises(ConfigError, match=r"node\.log_file_max_bytes: must be an integer in 65536\.\."):
        parse_config({"node": {"log_file_max_bytes": 10}})
    with pytest.raises(ConfigError, match=r"node\.log_level \(p2p\): one of"):
        parse_config({"node": {"log_level": "info,p2p=verbose"}})


def test_config_metrics_settings() -> None:
    config = parse_config({"metrics": {"enabled": True, "addr": "0.0.0.0:9100"}})
    assert config.metrics.enabled and str(config.metrics.addr) == "0.0.0.0:9100"
    assert not parse_config({}).metrics.enabled
    with pytest.raises(ConfigError, match=r"metrics: unknown setting 'port'"):
        parse_config({"metrics": {"port": 9100}})
    with pytest.raises(ConfigError, match=r"metrics\.addr: expected HOST:PORT"):
        parse_config({"metrics": {"addr": "9100"}})
