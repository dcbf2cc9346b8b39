"""End-to-end decisions of the real sealed models on the dev images."""

import csv
import dataclasses
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image

from app.inference.errors import InputError
from app.inference.faces import Face
from app.inference.lanes import Timings
from app.inference.pipeline import Pipeline
from app.inference.results import VerifyResult
from app.integrity.gate import SealedSet
from devkit.paths import DATA, LIVENESS, data_file
from devkit.waiting import eventually

PAIRS = list(csv.DictReader((DATA / "verify-dev" / "pairs.csv").open())) if (DATA / "verify-dev").exists() else []
GENUINE = [(r["file_x"], r["file_y"]) for r in PAIRS if r["Decision"] == "Yes"][:8]
IMPOSTOR = [(r["file_x"], r["file_y"]) for r in PAIRS if r["Decision"] == "No"][::33][:8]
IDENTITIES = ["antoine", "arnold", "cas", "dennis", "marnix", "sander"]


def image(name: str) -> bytes:
    return data_file(f"verify-dev/images/{name}")


def no_face_png() -> bytes:
    """A real photo with the face cut away (top-left corner of a portrait's background)."""
    rgb = cv2.imdecode(np.frombuffer(image("img1.jpg"), np.uint8), cv2.IMREAD_COLOR)
    return cv2.imencode(".png", rgb[:100, :300])[1].tobytes()


@pytest.mark.parametrize(("selfie", "reference"), GENUINE)
def test_genuine_pairs_are_approved(pipeline: Pipeline, selfie: str, reference: str) -> None:
    result = pipeline.verify([image(selfie)], image(reference))
    assert (result.decision, result.reasons) == ("approve", [])
    assert result.match.score >= result.match.threshold and result.liveness.verdict == "live"


@pytest.mark.parametrize(("selfie", "reference"), IMPOSTOR)
def test_impostor_pairs_are_rejected(pipeline: Pipeline, selfie: str, reference: str) -> None:
    """Rejected for the mismatch, or earlier for a spoof verdict (decision order): never approved."""
    result = pipeline.verify([image(selfie)], image(reference))
    assert result.decision == "reject" and result.match.matched is False
    assert result.reasons in (["face_mismatch"], ["spoof_suspected"])


@pytest.mark.parametrize("attack", ["paper", "screen"])
@pytest.mark.parametrize("identity", IDENTITIES)
def test_spoof_of_a_person_is_never_approved_against_their_real_photo(pipeline: Pipeline, attack: str,
                                                                      identity: str) -> None:
    """These attacks are forehead-to-chin crops: too little image around the face to judge liveness, so the
    capture is sent back (a retake is not an acceptance) and no liveness verdict is given at all."""
    spoof = data_file(f"liveness-dev/print-screen-6/{attack}/{identity}.jpg")
    original = data_file(f"liveness-dev/print-screen-6/original/{identity}.jpg")
    result = pipeline.verify([spoof], original)
    assert (result.decision, result.reasons) == ("retake", ["low_quality:too_close"])
    assert result.liveness is None


@pytest.mark.parametrize("attack", ["paper", "screen"])
@pytest.mark.parametrize("identity", IDENTITIES)
def test_a_live_frame_of_someone_else_cannot_carry_a_spoof(pipeline: Pipeline, attack: str, identity: str) -> None:
    """The multi-frame bypass: [attack on A, live photo of B] against A's real photo was approved."""
    spoof = data_file(f"liveness-dev/print-screen-6/{attack}/{identity}.jpg")
    original = data_file(f"liveness-dev/print-screen-6/original/{identity}.jpg")
    result = pipeline.verify([spoof, image("img1.jpg")], original)
    assert result.decision == "reject" and "frames_mismatch" in result.reasons
    assert result.binding.consistent is False and result.binding.lowest_similarity is not None
    assert result.binding.lowest_similarity < result.binding.threshold


def test_silentface_samples_liveness(pipeline: Pipeline) -> None:
    samples = LIVENESS / "silentface-samples"
    verdicts = {
        row["path"]: pipeline.check_liveness([(samples / row["path"]).read_bytes()]).liveness.verdict
        for row in csv.DictReader((LIVENESS / "silentface-samples" / "labels.csv").open())
    }
    assert verdicts == {"image_F1.jpg": "spoof", "image_F2.jpg": "spoof", "image_T1.jpg": "live"}


def test_image_without_a_face_gives_no_face(pipeline: Pipeline) -> None:
    result = pipeline.verify([no_face_png()], image("img2.jpg"))
    assert (result.decision, result.reasons) == ("retake", ["no_face"])
    assert result.selfie[0].faces_found == 0


def test_two_face_selfie_gives_multiple_faces(pipeline: Pipeline) -> None:
    result = pipeline.verify([image("couple.jpg")], image("img2.jpg"))
    assert (result.decision, result.reasons) == ("retake", ["multiple_faces"])
    assert result.selfie[0].faces_found >= 2


def test_group_photo_as_reference_uses_the_largest_face(pipeline: Pipeline) -> None:
    result = pipeline.compare(image("img1.jpg"), image("selfie-many-people.jpg"))
    assert result.second.faces_found > 2 and result.second.problems == []


def test_exif_rotated_phone_photos_match_their_upright_pixels(pipeline: Pipeline) -> None:
    """Decoding must honour EXIF: the raw sensor-orientation JPEG and an upright PNG agree exactly."""
    for name in ("image_T1.jpg", "image_F1.jpg"):
        raw = (LIVENESS / "silentface-samples" / name).read_bytes()
        upright = Image.open(io.BytesIO(raw)).transpose(Image.Transpose.ROTATE_270)  # EXIF orientation 6
        buffer = io.BytesIO()
        upright.save(buffer, "PNG")
        with_exif, without = pipeline.check_liveness([raw]), pipeline.check_liveness([buffer.getvalue()])
        assert with_exif.liveness.verdict == without.liveness.verdict
        assert abs(with_exif.liveness.score - without.liveness.score) < 1e-3


def test_upright_photo_rotated_with_an_exif_tag_gives_the_same_decision(pipeline: Pipeline) -> None:
    upright = Image.open(io.BytesIO(image("img1.jpg")))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    straight, rotated = (pipeline.verify([data], image("img2.jpg")) for data in (image("img1.jpg"), buffer.getvalue()))
    assert straight.decision == rotated.decision == "approve"
    assert abs(straight.match.score - rotated.match.score) < 0.02


def test_same_input_twice_gives_bit_identical_scores(pipeline: Pipeline) -> None:
    first, second = (pipeline.verify([image("img1.jpg")], image("img2.jpg")) for _ in range(2))
    assert first.match.score == second.match.score
    assert first.liveness.frame_scores == second.liveness.frame_scores


# NUAA subjects: a printed photo of the subject and two live webcam frames of the same subject, all valid captures.
NUAA_SUBJECTS = [
    ("print/0001_00_02_02_279.jpg", "real/0001_00_00_01_185.jpg", "real/0001_00_00_01_318.jpg"),
    ("print/0002_01_01_02_0.jpg", "real/0002_01_00_01_212.jpg", "real/0002_01_00_01_143.jpg"),
    ("print/0003_01_01_02_245.jpg", "real/0003_01_00_01_90.jpg", "real/0003_01_00_01_61.jpg"),
]


@pytest.mark.parametrize(("attack", "live", "reference"), NUAA_SUBJECTS)
@pytest.mark.parametrize("attack_first", [True, False])
def test_a_spoof_frame_is_not_outvoted_by_a_live_frame_of_the_same_person(
    pipeline: Pipeline, attack: str, live: str, reference: str, attack_first: bool
) -> None:
    def nuaa(path: str) -> bytes:
        return data_file(f"liveness-dev2/nuaa-print-phonescreen/{path}")

    frames = [nuaa(attack), nuaa(live)] if attack_first else [nuaa(live), nuaa(attack)]
    result = pipeline.verify(frames, nuaa(reference))
    assert result.decision == "reject" and result.reasons[0] == "spoof_suspected"
    assert sorted(result.liveness.frame_verdicts) == ["live", "spoof"] and result.liveness.verdict == "spoof"


def test_two_live_frames_of_the_same_person_are_approved_and_every_frame_is_matched(pipeline: Pipeline) -> None:
    result = pipeline.verify([image("img1.jpg"), image("img5.jpg")], image("img2.jpg"))
    assert (result.decision, result.reasons) == ("approve", [])
    assert result.binding.consistent and result.liveness.frame_verdicts == ["live", "live"]
    assert len(result.match.frame_scores) == 2 and result.match.score == min(result.match.frame_scores)
    assert result.liveness.score == min(result.liveness.frame_scores)


def test_a_face_too_small_to_judge_is_a_retake_not_a_spoof(pipeline: Pipeline) -> None:
    """A real photo shrunk until the eyes are ~10 px apart: liveness is not judged on it at all."""
    rgb = cv2.imdecode(np.frombuffer(image("img1.jpg"), np.uint8), cv2.IMREAD_COLOR)
    assert rgb is not None
    scale = 10 / 300  # img1's eyes are ~300 px apart
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[200 : 200 + small.shape[0], 300 : 300 + small.shape[1]] = small
    result = pipeline.check_liveness([cv2.imencode(".png", canvas)[1].tobytes()])
    assert result.decision == "retake" and "low_quality:face_too_small" in result.reasons
    assert result.liveness is None


def test_small_portrait_on_an_id_card_sized_photo_is_found_by_the_large_pass(pipeline: Pipeline) -> None:
    """An LFW portrait shrunk to ID-card-photo size (face ~40 px tall) on a 1800x1150 card-like canvas."""
    photo = data_file("verify-dev/lfw10/Ariel_Sharon/Ariel_Sharon_0001.jpg")
    portrait = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    assert portrait is not None
    card = np.full((1150, 1800, 3), 235, np.uint8)
    card[100:200, 1500:1600] = cv2.resize(portrait, (100, 100), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(card, cv2.COLOR_BGR2RGB)
    assert pipeline.finder.detector.detect(rgb, 480) == []  # too small for the normal pass
    faces = pipeline.finder.find(rgb)
    assert len(faces) == 1 and 1500 <= faces[0].box[0] < faces[0].box[2] <= 1600
    card_bytes = cv2.imencode(".png", card)[1].tobytes()
    result = pipeline.compare(data_file("verify-dev/lfw10/Ariel_Sharon/Ariel_Sharon_0002.jpg"), card_bytes)
    assert result.second.faces_found == 1 and result.match is not None


def test_lanes_and_concurrent_requests_change_speed_not_results(
    pipeline: Pipeline, sealed: SealedSet, request: pytest.FixtureRequest
) -> None:
    """Shared sessions used from several lanes at once give exactly the scores of one lane, in sequence."""
    one_lane = Pipeline(sealed, dataclasses.replace(pipeline.options, lanes=1))
    cases = GENUINE[:3] + IMPOSTOR[:3]
    request.addfinalizer(one_lane.close)

    def scores(result: VerifyResult) -> tuple[float | None, float | None, list[str]]:
        return (result.match.score if result.match else None, result.liveness.score if result.liveness else None,
                result.reasons)

    sequential = [scores(one_lane.verify([image(s)], image(r))) for s, r in cases]
    with ThreadPoolExecutor(max_workers=len(cases)) as clients:
        concurrent = list(clients.map(lambda case: scores(pipeline.verify([image(case[0])], image(case[1]))), cases))
    assert concurrent == sequential
    assert len({score for score, _, _ in sequential}) == len(cases)  # distinct pairs, not one cached answer


def recorded_batches(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the pipeline's embedder gets from now on."""
    sizes: list[int] = []
    embed = pipeline.embedder.embed
    monkeypatch.setattr(pipeline.embedder, "embed", lambda crops: sizes.append(len(crops)) or embed(crops))
    return sizes


def settled(pipeline: Pipeline) -> bool:
    """Whether no lane task is left, within 10 s (another test's cancelled request may still be running one)."""
    return eventually(lambda: pipeline.lanes.idle)


def test_one_lane_embeds_a_requests_faces_in_one_batch_with_the_same_results(
    pipeline: Pipeline, sealed: SealedSet, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """On one lane every face of a request goes through FaceNet in one batch (it costs less CPU); on idle
    lanes each face is embedded in its own task. The embeddings, and so every score, are bit-identical, and
    each lands on its own frame when another frame or image has no face."""
    one_lane = Pipeline(sealed, dataclasses.replace(pipeline.options, lanes=1))
    request.addfinalizer(one_lane.close)
    batched_sizes, separate_sizes = recorded_batches(one_lane, monkeypatch), recorded_batches(pipeline, monkeypatch)
    frames, reference = [image("img1.jpg"), no_face_png(), image("img5.jpg")], image("img2.jpg")

    assert settled(pipeline)
    batched, separate = one_lane.verify(frames, reference), pipeline.verify(frames, reference)
    assert (batched_sizes, separate_sizes) == ([3], [1, 1, 1])
    assert batched.reasons == separate.reasons and batched.selfie[1].faces_found == 0
    assert batched.match.frame_scores == separate.match.frame_scores and batched.match.frame_scores[1] is None
    assert batched.binding == separate.binding and batched.binding.lowest_similarity is not None
    assert batched.liveness.frame_scores == separate.liveness.frame_scores

    assert settled(pipeline)
    compared = one_lane.compare(frames[0], reference), pipeline.compare(frames[0], reference)
    missing = one_lane.compare(frames[1], reference), pipeline.compare(frames[1], reference)
    assert (batched_sizes, separate_sizes) == ([3, 2, 1], [1, 1, 1, 1, 1, 1])
    assert compared[0].match == compared[1].match and compared[0].outcome == "match"
    assert missing[0].outcome == missing[1].outcome == "retake" and missing[0].first.faces_found == 0

    assert settled(pipeline)
    checked = one_lane.check_liveness([frames[0], frames[2]]), pipeline.check_liveness([frames[0], frames[2]])
    assert (batched_sizes[3:], separate_sizes[6:]) == ([2], [1, 1])
    assert checked[0].binding == checked[1].binding


def test_a_request_batches_its_embeddings_while_other_work_occupies_the_lanes(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request's task in a lane means this request's own embedding tasks would run instead of that
    work, not beside its own: it batches them for less CPU. Alone on idle lanes it keeps them side by side."""
    sizes = recorded_batches(pipeline, monkeypatch)
    assert pipeline.lanes.count == 2 and settled(pipeline) and not pipeline.sides.batches_embeddings()
    release = threading.Event()
    other = pipeline.lanes.submit(release.wait)
    try:
        result = pipeline.verify([image("img1.jpg"), image("img5.jpg")], image("img2.jpg"))  # on the free lane
    finally:
        release.set()
    assert other.result() and sizes == [3] and result.decision == "approve"
    assert settled(pipeline) and not pipeline.sides.batches_embeddings()


def test_an_image_refused_by_its_header_costs_no_lane_work(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers are checked before any decoding or inference starts, whichever image is at fault."""
    started: list[object] = []
    monkeypatch.setattr(pipeline.lanes, "submit", lambda *task: started.append(task))
    gif = b"GIF89a" + b"\x00" * 64
    with pytest.raises(InputError) as caught:
        pipeline.verify([image("img1.jpg"), image("img3.jpg")], gif)
    assert (caught.value.code, caught.value.status) == ("unsupported_format", 415)
    assert caught.value.detail.startswith("reference:") and started == []


def test_a_closed_pipeline_takes_no_more_work(pipeline: Pipeline, sealed: SealedSet) -> None:
    """`close` shuts the lanes down (the service calls it on shutdown): no lane thread outlives it."""
    closed = Pipeline(sealed, pipeline.options)
    closed.close()
    with pytest.raises(RuntimeError, match="shutdown"):
        closed.verify([image("img1.jpg")], image("img2.jpg"))


def decoded(pipeline: Pipeline, data: bytes) -> np.ndarray:
    """The pixels the pipeline's own decoding gives (EXIF, work side), to compare faces found on them."""
    (checked,) = pipeline.sides.images.check_all([("image", data)])
    return pipeline.sides.images.decode(checked, Timings())


def same_face(a: Face | None, b: Face) -> bool:
    return a is not None and a.box.tolist() == b.box.tolist() and a.landmarks.tolist() == b.landmarks.tolist()


def test_a_verify_finds_the_selfie_with_centerface_and_the_reference_with_yunet(pipeline: Pipeline) -> None:
    """The same photo on both sides: the selfie's face is CenterFace's search result (the boxes liveness is
    calibrated on), the reference's is YuNet's single pass at 320 px."""
    rgb = decoded(pipeline, image("img1.jpg"))
    result = pipeline.verify([image("img1.jpg")], image("img1.jpg"))
    (centerface,), (yunet,) = pipeline.finder.find(rgb), pipeline.reference_finder.detector.detect(rgb, 320)
    assert same_face(result.selfie[0].face, centerface) and same_face(result.reference.face, yunet)
    assert not same_face(result.selfie[0].face, yunet)  # the two routes really differ


def test_a_reference_yunet_misses_still_gets_centerfaces_face(pipeline: Pipeline) -> None:
    """A real bona fide webcam photo (benchmark-298, 360x211) in which YuNet at 320 px finds no face above
    its score and CenterFace's first pass finds one: as a verify reference and as either compare image it
    gets exactly CenterFace's face, and its quality is assessed as before."""
    data = data_file("liveness-dev/benchmark-298/real/14744_person.jpg")
    rgb = decoded(pipeline, data)
    assert pipeline.reference_finder.detector.detect(rgb, 320) == []
    (centerface,) = pipeline.finder.find(rgb)
    verified = pipeline.verify([image("img1.jpg")], data)
    compared = pipeline.compare(data, data)
    for analysis in (verified.reference, compared.first, compared.second):
        assert analysis.faces_found == 1 and same_face(analysis.face, centerface) and analysis.quality is not None
    assert compared.outcome == "match"
