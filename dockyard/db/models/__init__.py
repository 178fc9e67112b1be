"""Tables as SQLAlchemy mapped classes: shape only, no behaviour."""

from dockyard.db.models.accounts import (
    AuditEvent,
    AuthState,
    LoginFailure,
    Membership,
    Namespace,
    Project,
    Token,
    User,
    WebSession,
)
from dockyard.db.models.base import Base
from dockyard.db.models.cleanup import CleanupPolicy, CleanupRun
from dockyard.db.models.gc import GcBlobReview, GcLinkReview, GcManifestReview, GcStorageDelete
from dockyard.db.models.hooks import Webhook, WebhookDelivery
from dockyard.db.models.jobs import Job
from dockyard.db.models.keys import SigningKey
from dockyard.db.models.oidc import OidcTrust
from dockyard.db.models.periodic import PeriodicTask
from dockyard.db.models.policies import VulnerabilityException, VulnerabilityPolicy
from dockyard.db.models.protection import TagProtectionRule
from dockyard.db.models.registry import (
    Blob,
    Manifest,
    ManifestReference,
    Repository,
    RepositoryBlob,
    Tag,
    Upload,
)
from dockyard.db.models.scans import Scan, ScanFinding, ScanPackage
from dockyard.db.models.usage import StorageUsage, UsageRef
from dockyard.db.models.vulndb import Advisory, AdvisoryImport, AffectedRange

__all__ = [
    "Advisory",
    "AdvisoryImport",
    "AffectedRange",
    "AuditEvent",
    "AuthState",
    "Base",
    "Blob",
    "CleanupPolicy",
    "CleanupRun",
    "GcBlobReview",
    "GcLinkReview",
    "GcManifestReview",
    "GcStorageDelete",
    "Job",
    "LoginFailure",
    "Manifest",
    "ManifestReference",
    "Membership",
    "Namespace",
    "OidcTrust",
    "PeriodicTask",
    "Project",
    "Repository",
    "RepositoryBlob",
    "Scan",
    "ScanFinding",
    "ScanPackage",
    "SigningKey",
    "StorageUsage",
    "Tag",
    "TagProtectionRule",
    "Token",
    "Upload",
    "UsageRef",
    "User",
    "VulnerabilityException",
    "VulnerabilityPolicy",
    "WebSession",
    "Webhook",
    "WebhookDelivery",
]
