"""The proposal makers that the tools run: Selective Search (``ssearch``),
Fast R-CNN's legacy ``.mat`` files (``legacy``), RPN dumps (``rpn``), the
splits they run on (``splits``) and recall (``recall``). They write the
formats of :mod:`mmdet_ohem.proposals`, which the datasets read."""
