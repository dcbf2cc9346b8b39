"""The three use cases. The sides of a request run side by side, in lane tasks; then the policy decides."""

from app.inference.errors import InputError, ProblemCode
from app.inference.inputs import selfie_labels
from app.inference.lanes import Timings, cancelled_on_error
from app.inference.matching import bind_frames, match
from app.inference.policy import Evidence, Policy, Preset, Verdict, decide
from app.inference.results import BindingResult, CompareOutcome, CompareResult, MatchResult, VerifyResult
from app.inference.sides import Side, SideExaminer


def resolve_preset(policy: Policy, preset_name: str | None) -> tuple[str, Preset]:
    try:
        return policy.preset(preset_name)
    except KeyError:
        raise InputError(ProblemCode.unknown_preset, f"preset must be one of {sorted(policy.match.presets)}",
                         400) from None


def _evidence(selfie: Side, reference_problems: list[str], binding: BindingResult,
              match_result: MatchResult | None) -> Evidence:
    verdicts: list[Verdict | None] = (selfie.liveness.frame_verdicts if selfie.liveness
                                      else [None] * len(selfie.analyses))
    return Evidence([a.problems for a in selfie.analyses], reference_problems, verdicts, binding.consistent,
                    match_result.matched if match_result else None)


def verify(sides: SideExaminer, policy: Policy, selfies: list[bytes], reference: bytes,
           preset: str | None = None) -> VerifyResult:
    """Selfie frames against a reference photo: liveness, one person across the frames, and a match."""
    operating_point = resolve_preset(policy, preset)  # refuse an unknown preset before any work
    timings = Timings()
    *selfie_images, reference_image = sides.images.check_all(selfie_labels(selfies) + [("reference", reference)])
    batched = sides.batches_embeddings()
    selfie_faces = sides.start_selfie(selfie_images, timings)
    reference_task = sides.start_reference(reference_image, timings, batched)
    with cancelled_on_error([*selfie_faces, reference_task]):
        selfie, reference_side = sides.examine_selfie(selfie_faces, timings, embed=True, batched=batched,
                                                      beside=[reference_task])
    binding = bind_frames(selfie.embeddings, policy.binding_threshold(operating_point[1]))
    (reference_embedding,) = reference_side.embeddings
    match_result = match(selfie.embeddings, reference_embedding, operating_point)
    (reference_analysis,) = reference_side.analyses
    decision, reasons = decide(_evidence(selfie, reference_analysis.problems, binding, match_result))
    return VerifyResult(decision, reasons, selfie.analyses, reference_analysis, match_result, selfie.liveness,
                        binding, timings)


def check_liveness(sides: SideExaminer, policy: Policy, selfies: list[bytes]) -> VerifyResult:
    """Selfie frames alone: liveness and one person across the frames, no match."""
    timings = Timings()
    batched = sides.batches_embeddings()
    selfie_faces = sides.start_selfie(sides.images.check_all(selfie_labels(selfies)), timings)
    with cancelled_on_error(selfie_faces):
        (selfie,) = sides.examine_selfie(selfie_faces, timings, embed=False, batched=batched)
    binding = bind_frames(selfie.embeddings, policy.binding_threshold(policy.preset(None)[1]))
    decision, reasons = decide(_evidence(selfie, [], binding, None))
    return VerifyResult(decision, reasons, selfie.analyses, None, None, selfie.liveness, binding, timings)


def compare(sides: SideExaminer, policy: Policy, image1: bytes, image2: bytes,
            preset: str | None = None) -> CompareResult:
    """Two images' largest faces matched, nothing more."""
    operating_point = resolve_preset(policy, preset)
    timings = Timings()
    batched = sides.batches_embeddings()
    tasks = [sides.start_reference(image, timings, batched)
             for image in sides.images.check_all([("image1", image1), ("image2", image2)])]
    with cancelled_on_error(tasks):
        first, second = sides.embedded([task.result() for task in tasks], timings)
    (second_embedding,) = second.embeddings
    match_result = match(first.embeddings, second_embedding, operating_point)
    if match_result is None:  # a face is missing on one side or both
        return CompareResult("retake", ["no_face"], first.analyses[0], second.analyses[0], None, timings)
    outcome: CompareOutcome = "match" if match_result.matched else "no_match"
    return CompareResult(outcome, [], first.analyses[0], second.analyses[0], match_result, timings)
