"""Proposals: the file formats (``formats``, ``npz``), the packed table and
its checks (``table``), and the makers the tools run: Selective Search
(``ssearch``), Fast R-CNN's legacy ``.mat`` files (``legacy``), RPN dumps
(``rpn``), splits (``splits``) and recall (``recall``). Importing the
package loads the formats only."""
from .formats import (load_proposals, open_proposals, proposal_file_name,
                      proposal_key, save_proposals)

__all__ = [
    'load_proposals', 'open_proposals', 'proposal_file_name', 'proposal_key',
    'save_proposals'
]
