"""face_recognition's side of bench.peer: runs in the peer venv (stdlib, numpy, face_recognition only).

Reads one JSON line per pair on stdin ({"selfie": base64, "reference": base64}) and answers one JSON line:
the CPU and wall milliseconds of face_recognition's whole verify of that pair, and the match.
Its verify, as its README shows it: load each image, detect faces with HOG (the default, one upsample),
encode the largest face of each (128-d, 5 landmarks, one jitter: the defaults) and compare the distance
with its default tolerance. It has no liveness check. Images load as `load_image_file` loads them, without
applying EXIF orientation (bench.load's pairs are stored upright; the shrunk profiles carry no tag).
"""

import base64
import io
import json
import sys
import time

TOLERANCE = 0.6  # face_recognition.compare_faces' default

Box = tuple[int, int, int, int]  # face_recognition's (top, right, bottom, left)


def largest(boxes: list[Box]) -> list[Box]:
    """The largest face as a one-item list (nothing when none was found): the person an onboarding photo shows."""
    if not boxes:
        return []
    return [max(boxes, key=lambda box: (box[2] - box[0]) * (box[1] - box[3]))]


def serve() -> None:
    import face_recognition  # the peer venv's; imported here so tests can import `largest` without it

    for line in sys.stdin:
        request = json.loads(line)
        selfie, reference = base64.b64decode(request["selfie"]), base64.b64decode(request["reference"])
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        encodings = []
        for data in (selfie, reference):
            image = face_recognition.load_image_file(io.BytesIO(data))
            boxes = face_recognition.face_locations(image)
            encodings.append(face_recognition.face_encodings(image, largest(boxes)))
        matched = None
        if all(encodings):
            matched = bool(face_recognition.face_distance([encodings[0][0]], encodings[1][0])[0] <= TOLERANCE)
        reply = {"cpu_ms": (time.process_time() - cpu_started) * 1000,
                 "wall_ms": (time.perf_counter() - wall_started) * 1000, "matched": matched}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    serve()
