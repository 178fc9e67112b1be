"""An inventory as a software bill of materials: CycloneDX 1.6 or SPDX 2.3, JSON.

Both are written by the formats' own maintained libraries, with a package URL for every
package, so the SBOM validates and other tools (Dependency-Track, grype) can read it.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from packageurl import PackageURL

from dockyard.scan.model import Inventory, Package

FORMATS = ("cyclonedx", "spdx")


def purl(package: Package) -> PackageURL:
    """The package URL; the name is what is left after the namespace (OSV naming)."""
    name = package.name
    if package.namespace and name.startswith(package.namespace):
        name = name[len(package.namespace) + 1 :] or name
    qualifiers = {"arch": package.arch} if package.arch else {}
    return PackageURL(
        type=package.purl_type,
        namespace=package.namespace,
        name=name,
        version=package.version,
        qualifiers=qualifiers,
    )


def cyclonedx(inventory: Inventory, image: str, digest: str) -> str:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom()
    root = Component(name=image, version=digest, type=ComponentType.CONTAINER, bom_ref="image")
    bom.metadata.component = root
    components = []
    for i, package in enumerate(inventory.packages):
        components.append(
            Component(
                name=package.name,
                version=package.version,
                purl=purl(package),
                bom_ref=f"pkg-{i}",
                properties=[
                    Property(name="dockyard:layer_digest", value=package.layer_digest),
                    Property(name="dockyard:path", value=package.path),
                ],
            )
        )
    for component in components:
        bom.components.add(component)
    bom.register_dependency(root, components)  # the image holds every package it lists
    return JsonV1Dot6(bom).output_as_string(indent=2)


def spdx(inventory: Inventory, image: str, digest: str) -> str:
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        CreationInfo,
        Document,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Relationship,
        RelationshipType,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.model import Package as SpdxPackage
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"{image}@{digest}",
        document_namespace=f"https://dockyard.invalid/spdx/{digest.replace(':', '-')}",
        creators=[Actor(ActorType.TOOL, "dockyard")],
        created=datetime.now(UTC).replace(microsecond=0),
    )
    image_pkg = SpdxPackage(
        "SPDXRef-Image", image, SpdxNoAssertion(), version=digest, files_analyzed=False
    )
    packages = [image_pkg]
    manager = ExternalPackageRefCategory.PACKAGE_MANAGER
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-Image")]
    for i, package in enumerate(inventory.packages):
        spdx_id = f"SPDXRef-Package-{i}"
        packages.append(
            SpdxPackage(
                spdx_id,
                package.name,
                SpdxNoAssertion(),
                version=package.version,
                files_analyzed=False,
                source_info=f"found at {package.path} in layer {package.layer_digest}",
                external_references=[
                    ExternalPackageRef(manager, "purl", purl(package).to_string())
                ],
            )
        )
        relationships.append(Relationship("SPDXRef-Image", RelationshipType.CONTAINS, spdx_id))
    document = Document(info, packages=packages, relationships=relationships)
    out = io.StringIO()
    write_document_to_stream(document, out, validate=True)
    return out.getvalue()
