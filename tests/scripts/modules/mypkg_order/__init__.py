# A package for modules/module_dunder_order.mini.
VALUE = 1
