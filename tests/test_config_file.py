"""The one configuration story: the TOML file, its validation, and how `rank` takes its models from it."""

import json

import pytest

from engine.config_file import config_path, load_config, merge, validate
from engine.errors import CodescalerError
from tests.test_cli import one_line_error, run


def test_valid_settings_pass_and_nulls_mean_unset():
    settings = validate({"completion": {"n": 4, "threshold": None}, "languages": {"markdown": False}}, "x")
    assert settings == {"completion": {"n": 4}, "languages": {"markdown": False}}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"complete": {}}, "unknown section [complete]"),
        ({"completion": {"temprature": 0.2}}, "unknown setting completion.temprature"),
        ({"completion": {"n": "4"}}, "completion.n must be int, not str"),
        ({"completion": {"n": True}}, "completion.n must be int, not bool"),
        ({"languages": {"python": "yes"}}, "languages.python must be bool"),
        ([1, 2], "settings must be an object"),
    ],
)
def test_mistakes_are_named(settings, message):
    with pytest.raises(CodescalerError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(settings, "here")


def test_later_layers_win_key_by_key():
    merged = merge({"completion": {"n": 8, "temperature": 0.8}}, {"completion": {"n": 2}}, {"models": {}})
    assert merged == {"completion": {"n": 2, "temperature": 0.8}, "models": {}}


def test_where_the_file_is(tmp_path, monkeypatch):
    monkeypatch.delenv("CODESCALER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() is None and load_config() == {}  # no file: no settings, no error
    default = tmp_path / "codescaler" / "config.toml"
    default.parent.mkdir()
    default.write_text("[completion]\nn = 3\n")
    assert config_path() == default and load_config()["completion"]["n"] == 3
    other = tmp_path / "other.toml"
    other.write_text("[completion]\nn = 5\n")
    monkeypatch.setenv("CODESCALER_CONFIG", str(other))
    assert load_config()["completion"]["n"] == 5
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("[completion]\nn = 7\n")
    assert load_config(explicit)["completion"]["n"] == 7


def test_broken_files_get_one_line_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[completion\nn = 3\n")
    with pytest.raises(CodescalerError, match=f"config file {broken} is not valid TOML"):
        load_config(broken)
    with pytest.raises(CodescalerError, match=r"cannot read config file .*missing\.toml"):
        load_config(tmp_path / "missing.toml")
    typo = tmp_path / "typo.toml"
    typo.write_text("[models]\npolicy_model = 'x'\n")
    with pytest.raises(CodescalerError, match=f"{typo}: unknown setting models.policy_model"):
        load_config(typo)


def test_rank_takes_models_and_defaults_from_the_config_file(codescaler_cli, tiny_models, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[models]\npolicy = "{tiny_models["policy"]}"\nreward_model = "{tiny_models["reward"]}"\n'
        "[completion]\nn = 3\nmax_new_tokens = 8\n"
    )
    document = tmp_path / "a.py"
    document.write_text("# note: \n")
    result = run(codescaler_cli, "rank", str(document), "--line", "1", "--col", "9", "--json",
                 "--config", str(config), "--seed", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["generated"] == 3 and 1 <= len(reply["items"]) <= 3  # n = 3 from the file
    no_models = tmp_path / "empty.toml"
    no_models.write_text('[models]\npolicy_backend = "openai"\n')
    result = run(
        codescaler_cli, "rank", str(document), "--line", "1", "--col", "9", "--config", str(no_models)
    )
    one_line_error(result, "openai policy backend needs --policy")
