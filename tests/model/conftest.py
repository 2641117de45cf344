"""Fixtures of the tests that train the demo's tiny model with a Runner."""
import pytest
from tiny_runs import make_data, skip_config_formatting


@pytest.fixture(scope='session')
def data_root(tmp_path_factory):
    """The tiny generated VOC set, made once for all these tests."""
    return make_data(tmp_path_factory.mktemp('voc'))


@pytest.fixture
def fast_config_text(monkeypatch):
    """Runners in the test write their config unformatted."""
    skip_config_formatting(monkeypatch)
