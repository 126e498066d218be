"""`REINFER_CLONE_*` settings are parsed by each field's annotated type."""
import logging

import pytest
from click.testing import CliRunner

from reinfer_clone.app import create_app
from reinfer_clone.cli import main
from reinfer_clone.config import Config


def test_values_are_parsed_by_their_annotated_types():
    config = Config.from_env({
        "REINFER_CLONE_PORT": " 9000 ", "REINFER_CLONE_RETRAIN_DELAY": "-1.5",
        "REINFER_CLONE_EMBEDDING_QUANTIZE": "off", "REINFER_CLONE_TRANSFORM_TAGS": "a.0.X, b.1.Y,",
        "REINFER_CLONE_ADMIN_TOKEN": "secret", "REINFER_CLONE_LOG_LEVEL": "warning",
        "REINFER_CLONE_CONTROL_SOCKET": "/run/x/gunicorn.ctl", "UNRELATED": "1",
    })
    assert config.port == 9000 and isinstance(config.port, int)
    assert config.retrain_delay == -1.5
    assert config.embedding_quantize is False
    assert config.transform_tags == ("a.0.X", "b.1.Y")
    assert config.admin_token == "secret" and config.log_level == "warning"
    assert config.control_socket == "/run/x/gunicorn.ctl"
    assert config.workers == 2 and config.admin_username == "admin"  # defaults kept


@pytest.mark.parametrize("raw, expected", [("true", True), ("1", True), ("YES", True), ("on", True),
                                           ("false", False), ("0", False), ("no", False), ("Off", False)])
def test_booleans(raw, expected):
    assert Config.from_env({"REINFER_CLONE_EMBEDDING_QUANTIZE": raw}).embedding_quantize is expected


@pytest.mark.parametrize("name, raw, message", [
    ("PORT", "80a", "REINFER_CLONE_PORT='80a': Not a valid integer."),
    ("WORKERS", "2.5", "REINFER_CLONE_WORKERS='2.5': Not a valid integer."),
    ("RETRAIN_DELAY", "nan", "REINFER_CLONE_RETRAIN_DELAY='nan':"),
    ("EMBEDDING_QUANTIZE", "ture", "REINFER_CLONE_EMBEDDING_QUANTIZE='ture': Not a valid boolean."),
])
def test_a_value_that_does_not_parse_names_the_variable(name, raw, message):
    with pytest.raises(ValueError) as caught:
        Config.from_env({"REINFER_CLONE_" + name: raw})
    assert str(caught.value).startswith(message)


def test_the_command_reports_a_bad_setting_without_a_traceback(monkeypatch):
    monkeypatch.setenv("REINFER_CLONE_MAX_CONTENT_LENGTH", "lots")
    result = CliRunner().invoke(main, ["db", "current"])
    assert result.exit_code == 2
    assert "REINFER_CLONE_MAX_CONTENT_LENGTH='lots': Not a valid integer." in result.output
    assert "Traceback" not in result.output


def test_faiss_loader_messages_are_quiet_at_the_default_level(config, database):
    create_app(config, database=database)
    assert logging.getLogger("faiss.loader").getEffectiveLevel() == logging.WARNING


def test_default_sqlite_file_in_a_checkout_and_in_an_installed_wheel(tmp_path, monkeypatch):
    from reinfer_clone import config as config_module

    monkeypatch.delenv("REINFER_CLONE_VAR_DIR", raising=False)
    monkeypatch.delenv("REINFER_CLONE_DATABASE_URL", raising=False)
    checkout = Config.from_env({}).database_url
    assert checkout == f"sqlite:///{config_module.REPO_ROOT / 'var' / 'reinfer-clone.sqlite3'}"
    # Installed, the package's parent is site-packages: no setup.cfg there.
    monkeypatch.setattr(config_module, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path)
    assert Config.from_env({}).database_url == f"sqlite:///{tmp_path / 'var' / 'reinfer-clone.sqlite3'}"
    monkeypatch.setenv("REINFER_CLONE_VAR_DIR", str(tmp_path / "data"))
    assert Config.from_env({}).database_url == f"sqlite:///{tmp_path / 'data' / 'reinfer-clone.sqlite3'}"
