# A submodule for modules/module_dunder_order.mini.
X = 2
