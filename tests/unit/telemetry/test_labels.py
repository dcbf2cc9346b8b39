"""HTTP metric labels come from closed sets: no method, path or status a client sends can mint a series."""

from starlette.routing import Route

from app.telemetry.labels import method_label, route_label, status_label


def test_labels_come_from_closed_sets() -> None:
    assert route_label({"route": Route("/v1/verify", lambda request: None), "path": "/v1/verify"}) == "/v1/verify"
    assert route_label({"path": "/anything/else"}) == "unmatched"
    methods = ("GET", "PATCH", "get", "PROPFIND", "M" * 8000)
    assert [method_label(m) for m in methods] == ["GET", "PATCH", "other", "other", "other"]
    assert [status_label(s) for s in (200, 429, 599, 999)] == ["200", "429", "other", "other"]
