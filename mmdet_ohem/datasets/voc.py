"""PASCAL VOC with checked, lean proposal loading and lenient XML."""
import os.path as osp
import re
import shlex
import xml.etree.ElementTree as ET
from typing import List, Optional, Union

from mmdet.datasets import VOCDataset
from mmdet.registry import DATASETS

from ..errors import DataFileError, MissingDataError
from .mixin import ProposalDatasetMixin

DATA_HINT = ('Download PASCAL VOC as README, section "Data", describes '
             '(VOCdevkit/ under data_root).')


@DATASETS.register_module()
class ProposalVOCDataset(ProposalDatasetMixin, VOCDataset):
    """mmdet's ``VOCDataset`` with :class:`ProposalDatasetMixin`'s
    proposal loading and an XML reader for real-world VOC exports.

    Beyond mmdet's reader it takes an empty ``<difficult/>`` as 0 and keeps
    fractional coordinates (``<xmin>48.5</xmin>``) instead of truncating
    them; an unreadable annotation raises one :class:`DataFileError`
    naming the file.

    Args:
        missing_proposals (str): See :class:`ProposalDatasetMixin`.
        max_proposals (int, optional): See :class:`ProposalDatasetMixin`.
        min_proposal_size (float): See :class:`ProposalDatasetMixin`.
        unknown_classes (str): See :class:`ProposalDatasetMixin`.
        **kwargs: Passed to ``VOCDataset``.
    """

    def _voc_name(self) -> str:
        """Return e.g. 'VOC2007', from the data root folder."""
        found = re.findall(r'VOC\d{4}', self.sub_data_root)
        return found[-1] if found else 'VOC'

    def _split_name(self) -> str:
        return osp.splitext(osp.basename(self.ann_file))[0]

    def _data_hint(self) -> str:
        """How to get missing data: PASCAL VOC's download, or for one's own
        data what the layout must be."""
        if re.search(r'VOCdevkit/VOC\d{4}', self.sub_data_root):
            return DATA_HINT
        return ('A VOC-layout folder holds Annotations/<id>.xml, '
                'JPEGImages/<image> and ImageSets/Main/<split>.txt (one id '
                'a line); see README, section "Your own data".')

    def _data_paths(self) -> list:
        voc = self._voc_name()
        hint = self._data_hint()
        return [
            ('file', self.ann_file, f'{voc} split list', hint),
            ('dir', osp.join(self.sub_data_root, self.ann_subdir),
             f'{voc} annotation folder', hint),
            ('dir', osp.join(self.sub_data_root,
                             self.img_subdir), f'{voc} image folder', hint),
        ]

    def _proposal_hint(self) -> str:
        year = self._voc_name()[3:]
        root = self.data_root or '.'
        voc_dir = osp.relpath(self.sub_data_root or root, root)
        return ('Make it with Selective Search: mmdet-ohem selective_search '
                f'voc --data-root {root} ' +
                (f'--year {year} ' if year else '') +
                f"--voc-dir {shlex.quote('' if voc_dir == '.' else voc_dir)} "
                f'--split {self._split_name()} --out {self.proposal_file}\n'
                'or convert Fast R-CNN\'s .mat (mmdet-ohem convert_ss_mat) or '
                'dump an RPN\'s (mmdet-ohem dump_rpn_proposals); see README, '
                'section '
                '"Making proposals".')

    def load_data_list(self) -> List[dict]:
        """Load the split's annotations through :class:`AnnotationCheck`."""
        self.annotation_check = self._annotation_check()
        data_list = super().load_data_list()
        self.annotation_check.finish()
        return data_list

    def parse_data_info(self, img_info: dict) -> Union[dict, List[dict]]:
        """Parse one image's annotation; see ``XMLDataset``. The image is
        the one :func:`find_voc_image` finds (mmdet assumes
        ``<id>.jpg``); its objects pass :meth:`AnnotationCheck.keep`.

        Raises:
            MissingDataError: The XML file or the image does not exist.
            DataFileError: The XML file cannot be parsed or lacks a field.
        """
        xml_path = img_info['xml_path']
        try:
            img_info = dict(
                img_info,
                file_name=osp.join(
                    self.img_subdir,
                    find_voc_image(
                        osp.join(self.sub_data_root, self.img_subdir),
                        img_info['img_id'], xml_path)))
            info = super().parse_data_info(img_info)
        except MissingDataError as e:  # the image
            raise MissingDataError(
                f'{e} (of {self.ann_file}). Add the image, or remove the id '
                f'from the split list. {self._data_hint()}') from e
        except FileNotFoundError as e:
            raise MissingDataError(
                f'{self._voc_name()} annotation {xml_path} does not exist '
                f'(image {img_info["img_id"]!r} of {self.ann_file}). Add it, '
                'or remove the id from the split list. '
                f'{self._data_hint()}') from e
        except (ET.ParseError, AttributeError, TypeError, ValueError) as e:
            raise DataFileError(f'{xml_path}: not a usable VOC annotation '
                                f'({type(e).__name__}: {e}).') from e
        instances = []
        for instance in info['instances']:
            name = instance.pop('name')
            bbox = self.annotation_check.keep(name, instance['bbox'],
                                              info['width'], info['height'],
                                              self._short(xml_path))
            if bbox is not None:
                instance.update(bbox=bbox, bbox_label=self.cat2label[name])
                instances.append(instance)
        info['instances'] = instances
        return info

    def _parse_instance_info(self,
                             raw_ann_info: ET.ElementTree,
                             minus_one: bool = True) -> List[dict]:
        """Parse the objects of an annotation, as ``XMLDataset`` does but
        with :func:`_number` for ``difficult`` and the coordinates, and
        keeping every object with its ``name`` (for
        :meth:`parse_data_info` to check)."""
        instances = []
        for obj in raw_ann_info.findall('object'):
            name = (obj.findtext('name') or '').strip()
            difficult = _number(obj.findtext('difficult'), 'difficult', 0)
            bnd_box = obj.find('bndbox')
            if bnd_box is None:
                raise ValueError(f'an object {name!r} has no <bndbox>')
            bbox = [
                _number(bnd_box.findtext(key), key)
                for key in ('xmin', 'ymin', 'xmax', 'ymax')
            ]
            if minus_one:
                bbox = [x - 1 for x in bbox]
            ignore = False
            if self.bbox_min_size is not None:
                assert not self.test_mode
                w = bbox[2] - bbox[0]
                h = bbox[3] - bbox[1]
                ignore = w < self.bbox_min_size or h < self.bbox_min_size
            instances.append(
                dict(
                    name=name,
                    ignore_flag=int(bool(difficult) or ignore),
                    bbox=bbox,
                    bbox_label=-1))
        return instances


#: What an image of a VOC-layout folder may be, besides VOC's .jpg.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
                    '.JPG', '.JPEG', '.PNG')


def find_voc_image(img_dir: str, img_id: str, xml_path: str) -> str:
    """Return the file name of image ``img_id`` in ``img_dir``.

    VOC's own ``<id>.jpg`` if it exists (no XML read); else the XML's
    ``<filename>`` (VOC's field for it; real exports name PNGs there); else
    ``<id>`` with any extension of :data:`IMAGE_EXTENSIONS`.

    Raises:
        MissingDataError: None exists; the message lists what was looked
            for.
    """
    if osp.isfile(osp.join(img_dir, f'{img_id}.jpg')):
        return f'{img_id}.jpg'
    names = []
    try:
        named = (ET.parse(xml_path).findtext('filename') or '').strip()
    except (OSError, ET.ParseError):
        named = ''
    if named:
        names.append(osp.basename(named))
    names += [img_id + ext for ext in IMAGE_EXTENSIONS]
    for name in dict.fromkeys(names):
        if osp.isfile(osp.join(img_dir, name)):
            return name
    raise MissingDataError(
        f'image {img_id!r} is not in {img_dir}: looked for ' +
        (f"the XML's <filename> {names[0]!r}, then " if named else '') +
        f'{img_id}.' + '|'.join(ext[1:] for ext in IMAGE_EXTENSIONS))


def _number(text: Optional[str],
            field: str,
            default: Optional[int] = None) -> Union[int, float]:
    """Read a number from an XML field: an int if it is whole, else a
    float; ``default`` for an empty or absent field."""
    text = (text or '').strip()
    if not text:
        if default is None:
            raise ValueError(f'<{field}> is empty')
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f'<{field}> is {text!r}, not a number') from None
    return int(value) if value.is_integer() else value
