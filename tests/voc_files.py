"""Edits of generated VOC folders into the shapes real exports have."""
import os
import os.path as osp
import re

import cv2


def to_png(voc, img_id, name_in_xml=True):
    """Re-save image ``img_id`` of the VOC folder ``voc`` as PNG, removing
    its JPEG; its XML's ``<filename>`` names the PNG, as real exports do,
    unless ``name_in_xml`` is False (then only its id finds it)."""
    jpg = osp.join(voc, 'JPEGImages', f'{img_id}.jpg')
    cv2.imwrite(jpg[:-4] + '.png', cv2.imread(jpg))
    os.remove(jpg)
    if name_in_xml:
        xml = osp.join(voc, 'Annotations', f'{img_id}.xml')
        with open(xml) as f:
            text = f.read()
        with open(xml, 'w') as f:
            f.write(
                re.sub('<filename>.*</filename>',
                       f'<filename>{img_id}.png</filename>', text))
