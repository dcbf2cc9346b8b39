"""What both detectors do after their own decoding: keep the best of overlapping boxes, map them back to the image."""

import numpy as np

from app.inference.faces import Face


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    order = list(np.argsort(-scores, kind="stable"))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order:
        best, rest = order[0], np.array(order[1:], dtype=np.int64)
        keep.append(int(best))
        if rest.size == 0:
            break
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        iou = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = [int(i) for i in rest[iou < iou_threshold]]
    return keep


def kept_faces(boxes: np.ndarray, landmarks: np.ndarray, scores: np.ndarray, iou_threshold: float,
               factors: tuple[float, float], clip_to: tuple[int, int] | None = None) -> list[Face]:
    """The faces NMS keeps, best first, from boxes (x1, y1, x2, y2) and 5 (x, y) landmarks each in the
    detector's input pixels, divided by `factors` (input / image size, x and y) into image pixels. `clip_to`
    (the input's width, height) clips each kept box, for a detector whose NMS compares the boxes as predicted."""
    per_point = np.array(factors)
    faces = []
    for index in nms(boxes, scores, iou_threshold):
        box = boxes[index] if clip_to is None else np.clip(boxes[index], 0, [*clip_to, *clip_to])
        faces.append(Face(box=(box / np.tile(per_point, 2)).astype(np.float64),
                          landmarks=(landmarks[index] / per_point).astype(np.float64), score=float(scores[index])))
    return faces
