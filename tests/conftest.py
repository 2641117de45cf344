import pytest
from mmdet.utils import register_all_modules
from mmengine.registry import DefaultScope

register_all_modules(init_default_scope=False)


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Build modules by name in mmdet's scope, as configs do.

    Per test, because a Runner made by an earlier test (its scope
    'mmengine') would otherwise become the current default scope.
    """
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
