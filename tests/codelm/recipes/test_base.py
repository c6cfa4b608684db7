"""The recipe skeleton: settings from key=value pairs, and the registry `codelm ls` prints."""

from __future__ import annotations

import pytest

from codelm.errors import UsageError
from codelm.recipes import RECIPES, get_recipe
from codelm.recipes.base import settings, split_overrides, split_settings


def test_overrides_split_and_unknown_keys():
    model, trainer = split_overrides(["lr=3e-4", "hidden_size=32", "progress=false"])
    assert model == {"hidden_size": 32} and trainer == {"lr": 3e-4, "progress": False}
    with pytest.raises(UsageError, match="unknown setting 'hidden_sise'"):
        split_overrides(["hidden_sise=8"])


def test_split_settings_converts_named_keys_and_passes_the_rest():
    named, rest = split_settings(["temperature=0.1", "symmetric=false", "lr=1e-3"],
                                 {"temperature": float, "symmetric": bool})
    assert named == {"temperature": 0.1, "symmetric": False} and rest == ["lr=1e-3"]
    with pytest.raises(UsageError, match="expected true or false"):
        split_settings(["symmetric=maybe"], {"symmetric": bool})


def test_settings_layers_defaults_overrides_and_arguments(tmp_path):
    _, model, cfg = settings(["batch_size=4", "hidden_size=8"], tmp_path, max_steps=7, time_limit=30.0,
                             defaults={"batch_size": 32, "lr": 2e-5})
    assert model == {"hidden_size": 8}
    assert (cfg.batch_size, cfg.lr, cfg.max_steps, cfg.time_limit, cfg.out_dir) == (4, 2e-5, 7, 30.0, str(tmp_path))


def test_every_recipe_resolves_to_its_entry():
    for name in RECIPES:
        assert callable(get_recipe(name))
    with pytest.raises(UsageError, match="unknown recipe"):
        get_recipe("nope")
