from mmdet.utils import register_all_modules

# Tests build mmdet modules by name, as configs do under `default_scope`.
register_all_modules(init_default_scope=True)
