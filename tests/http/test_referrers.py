"""The referrers API (spec: "Listing Referrers", end-12a, end-12b)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.http.oci_helpers import (
    MALFORMED_DIGESTS,
    OCI_INDEX,
    OCI_MANIFEST,
    UNSUPPORTED_DIGESTS,
    Pushed,
    assert_api_version,
    assert_error,
    describe,
    descriptor,
    manifest_url,
    media_type_of,
    push_artifact,
    push_image,
    push_index,
    random_digest,
    referrers_url,
    with_query,
)

SBOM = "application/vnd.example.sbom.v1"
SIGNATURE = "application/vnd.example.signature.v1"
CUSTOM_CONFIG = "application/vnd.example.config.v1+json"
ALLOWED_KEYS = {"mediaType", "digest", "size", "artifactType", "annotations"}


def expected(
    pushed: Pushed, artifact_type: str | None, annotations: dict[str, str] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "mediaType": pushed.media_type,
        "digest": pushed.digest,
        "size": pushed.size,
    }
    if artifact_type is not None:
        entry["artifactType"] = artifact_type
    entry["annotations"] = annotations or {}
    return entry


def normalise(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sorted by digest; a missing `annotations` is the same as an empty one."""
    result = []
    for entry in entries:
        assert set(entry) <= ALLOWED_KEYS, entry
        entry = dict(entry)
        entry["annotations"] = entry.get("annotations") or {}
        result.append(entry)
    return sorted(result, key=lambda e: e["digest"])


def get_referrers(
    client: httpx.Client, repo: str, digest: str, artifact_type: str | None = None
) -> httpx.Response:
    url = referrers_url(repo, digest)
    if artifact_type is not None:
        url = with_query(url, artifactType=artifact_type)
    return client.get(url)


def assert_referrers(resp: httpx.Response, entries: list[dict[str, Any]]) -> None:
    assert resp.status_code == 200, describe(resp)
    assert media_type_of(resp) == OCI_INDEX
    assert_api_version(resp)
    body = resp.json()
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == OCI_INDEX
    assert isinstance(body["manifests"], list)
    assert normalise(body["manifests"]) == normalise(entries)


@pytest.fixture
def subject(client: httpx.Client, repo: str) -> Pushed:
    return push_image(client, repo, "base")


def test_no_referrers(client: httpx.Client, repo: str, subject: Pushed) -> None:
    resp = get_referrers(client, repo, subject.digest)
    assert_referrers(resp, [])
    assert resp.json()["manifests"] == []


def test_unknown_repository(client: httpx.Client, repo: str) -> None:
    assert_referrers(get_referrers(client, repo + "/never", random_digest()), [])


def test_unknown_subject(client: httpx.Client, repo: str, subject: Pushed) -> None:
    assert_referrers(get_referrers(client, repo, random_digest()), [])


def test_artifact_referrer(client: httpx.Client, repo: str, subject: Pushed) -> None:
    notes = {"org.example.sbom.format": "json", "org.opencontainers.image.created": "2024"}
    sbom = push_artifact(client, repo, subject.descriptor(), SBOM, annotations=notes)
    assert_referrers(get_referrers(client, repo, subject.digest), [expected(sbom, SBOM, notes)])


def test_all_kinds_of_referrers(client: httpx.Client, repo: str, subject: Pushed) -> None:
    ref = subject.descriptor()
    sbom = push_artifact(client, repo, ref, SBOM, annotations={"a": "1"})
    signature = push_artifact(client, repo, ref, SIGNATURE)
    # an image manifest without artifactType: the config media type stands in
    plain = push_image(
        client, repo, subject=ref, config_media_type=CUSTOM_CONFIG, annotations={"b": "2"}
    )
    # an index without artifactType: artifactType is omitted
    child = push_image(client, repo)
    bare_index = push_index(client, repo, [child], subject=ref, annotations={"c": "3"})
    # an index with artifactType
    typed_index = push_index(client, repo, [child], subject=ref, artifact_type=SBOM)
    resp = get_referrers(client, repo, subject.digest)
    assert_referrers(
        resp,
        [
            expected(sbom, SBOM, {"a": "1"}),
            expected(signature, SIGNATURE, None),
            expected(plain, CUSTOM_CONFIG, {"b": "2"}),
            expected(bare_index, None, {"c": "3"}),
            expected(typed_index, SBOM, None),
        ],
    )
    entry = next(m for m in resp.json()["manifests"] if m["digest"] == bare_index.digest)
    assert "artifactType" not in entry


def test_image_manifest_with_oci_config_uses_config_media_type(
    client: httpx.Client, repo: str, subject: Pushed
) -> None:
    image = push_image(client, repo, subject=subject.descriptor())
    resp = get_referrers(client, repo, subject.digest)
    assert_referrers(resp, [expected(image, "application/vnd.oci.image.config.v1+json", None)])


def test_referrer_pushed_before_subject(client: httpx.Client, repo: str) -> None:
    future = descriptor(OCI_MANIFEST, digest=random_digest(), size=321)
    sbom = push_artifact(client, repo, future, SBOM)
    assert_referrers(get_referrers(client, repo, future["digest"]), [expected(sbom, SBOM, None)])


def test_referrer_pushed_by_tag(client: httpx.Client, repo: str, subject: Pushed) -> None:
    sbom = push_artifact(client, repo, subject.descriptor(), SBOM, tag="sbom")
    assert_referrers(get_referrers(client, repo, subject.digest), [expected(sbom, SBOM, None)])


def test_referrer_stays_listed_when_its_tag_moves(
    client: httpx.Client, repo: str, subject: Pushed
) -> None:
    sbom = push_artifact(client, repo, subject.descriptor(), SBOM, tag="sbom")
    push_image(client, repo, "sbom")  # the tag moves to an unrelated image
    assert_referrers(get_referrers(client, repo, subject.digest), [expected(sbom, SBOM, None)])


def test_only_referrers_of_that_subject(client: httpx.Client, repo: str, subject: Pushed) -> None:
    other = push_image(client, repo, "other")
    mine = push_artifact(client, repo, subject.descriptor(), SBOM)
    theirs = push_artifact(client, repo, other.descriptor(), SBOM)
    assert_referrers(get_referrers(client, repo, subject.digest), [expected(mine, SBOM, None)])
    assert_referrers(get_referrers(client, repo, other.digest), [expected(theirs, SBOM, None)])


def test_only_referrers_in_that_repository(
    client: httpx.Client, repo: str, subject: Pushed
) -> None:
    elsewhere = repo + "-other"
    push_artifact(client, elsewhere, subject.descriptor(), SBOM)
    assert_referrers(get_referrers(client, repo, subject.digest), [])
    assert len(get_referrers(client, elsewhere, subject.digest).json()["manifests"]) == 1


def test_referrers_of_a_referrer(client: httpx.Client, repo: str, subject: Pushed) -> None:
    sbom = push_artifact(client, repo, subject.descriptor(), SBOM)
    signature = push_artifact(client, repo, sbom.descriptor(), SIGNATURE)
    assert_referrers(get_referrers(client, repo, subject.digest), [expected(sbom, SBOM, None)])
    assert_referrers(
        get_referrers(client, repo, sbom.digest), [expected(signature, SIGNATURE, None)]
    )


def test_filter_by_artifact_type(client: httpx.Client, repo: str, subject: Pushed) -> None:
    ref = subject.descriptor()
    sbom = push_artifact(client, repo, ref, SBOM)
    push_artifact(client, repo, ref, SIGNATURE)
    resp = get_referrers(client, repo, subject.digest, SBOM)
    assert_referrers(resp, [expected(sbom, SBOM, None)])
    assert resp.headers["OCI-Filters-Applied"] == "artifactType"


def test_filter_matches_config_media_type_fallback(
    client: httpx.Client, repo: str, subject: Pushed
) -> None:
    ref = subject.descriptor()
    plain = push_image(client, repo, subject=ref, config_media_type=CUSTOM_CONFIG)
    push_artifact(client, repo, ref, SBOM)
    resp = get_referrers(client, repo, subject.digest, CUSTOM_CONFIG)
    assert_referrers(resp, [expected(plain, CUSTOM_CONFIG, None)])
    assert resp.headers["OCI-Filters-Applied"] == "artifactType"


def test_filter_with_no_match(client: httpx.Client, repo: str, subject: Pushed) -> None:
    push_artifact(client, repo, subject.descriptor(), SBOM)
    resp = get_referrers(client, repo, subject.digest, "application/vnd.example.none")
    assert_referrers(resp, [])
    assert resp.headers["OCI-Filters-Applied"] == "artifactType"


def test_no_filter_header_without_filter(client: httpx.Client, repo: str, subject: Pushed) -> None:
    push_artifact(client, repo, subject.descriptor(), SBOM)
    resp = get_referrers(client, repo, subject.digest)
    assert resp.status_code == 200
    assert "OCI-Filters-Applied" not in resp.headers


def test_deleted_referrer_is_removed(client: httpx.Client, repo: str, subject: Pushed) -> None:
    ref = subject.descriptor()
    sbom = push_artifact(client, repo, ref, SBOM)
    signature = push_artifact(client, repo, ref, SIGNATURE)
    resp = client.delete(manifest_url(repo, sbom.digest))
    assert resp.status_code == 202, describe(resp)
    assert_referrers(
        get_referrers(client, repo, subject.digest), [expected(signature, SIGNATURE, None)]
    )


def test_referrers_survive_subject_deletion(
    client: httpx.Client, repo: str, subject: Pushed
) -> None:
    sbom = push_artifact(client, repo, subject.descriptor(), SBOM)
    assert client.delete(manifest_url(repo, subject.digest)).status_code == 202
    assert_referrers(get_referrers(client, repo, subject.digest), [expected(sbom, SBOM, None)])


def test_duplicate_push_listed_once(client: httpx.Client, repo: str, subject: Pushed) -> None:
    sbom = push_artifact(client, repo, subject.descriptor(), SBOM, tag="a")
    resp = client.put(
        manifest_url(repo, "b"), content=sbom.body, headers={"Content-Type": OCI_MANIFEST}
    )
    assert resp.status_code == 201, describe(resp)
    assert_referrers(get_referrers(client, repo, subject.digest), [expected(sbom, SBOM, None)])


@pytest.mark.parametrize("digest", [d for d in MALFORMED_DIGESTS if ":" in d])
def test_malformed_digest(client: httpx.Client, repo: str, subject: Pushed, digest: str) -> None:
    assert_error(get_referrers(client, repo, digest), 400, "DIGEST_INVALID")


def test_tag_instead_of_digest(client: httpx.Client, repo: str, subject: Pushed) -> None:
    assert_error(get_referrers(client, repo, "base"), 400, "DIGEST_INVALID")


@pytest.mark.parametrize("digest", UNSUPPORTED_DIGESTS)
def test_unsupported_digest(client: httpx.Client, repo: str, digest: str) -> None:
    assert_error(get_referrers(client, repo, digest), 400, "UNSUPPORTED")
