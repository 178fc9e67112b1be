import re

from dockyard.oci.errors import Code, RegistryError

SPEC_CODES = {
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "TOOMANYREQUESTS",
}


def test_the_table_is_exactly_the_specs_codes() -> None:
    assert {c.value.code for c in Code} == SPEC_CODES
    for code in Code:
        assert re.fullmatch(r"[A-Z_]+", code.value.code)
        assert 400 <= code.value.status < 500


def test_body_has_the_spec_shape() -> None:
    error = RegistryError(Code.BLOB_UNKNOWN, detail={"digest": "sha256:x"})
    assert error.status == 404
    assert error.body() == {
        "errors": [
            {
                "code": "BLOB_UNKNOWN",
                "message": "blob unknown to registry",
                "detail": {"digest": "sha256:x"},
            }
        ]
    }


def test_status_and_message_can_be_overridden() -> None:
    error = RegistryError(Code.MANIFEST_INVALID, "too big", status=413)
    assert error.status == 413
    assert error.body()["errors"][0]["message"] == "too big"
