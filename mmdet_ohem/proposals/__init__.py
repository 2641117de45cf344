"""Proposal files as the datasets read them: the file formats
(``formats``, ``npz``) and the packed table and its checks (``table``).
The makers (Selective Search, RPN dumps, recall) are the tools' library,
:mod:`mmdet_ohem.workbench.proposals`."""
from .formats import (load_proposals, open_proposals, proposal_file_name,
                      proposal_key, save_proposals)

__all__ = [
    'load_proposals', 'open_proposals', 'proposal_file_name', 'proposal_key',
    'save_proposals'
]
