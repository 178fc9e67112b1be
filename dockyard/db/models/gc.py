"""The garbage collector's review queues and storage tombstones.

A row says "this may have lost its last reference": the collector re-checks under a lock
when ``review_after`` has passed and only then deletes. Anything that references the
object again in the meantime takes the row out. Keys are plain columns, not foreign
keys: a review must outlive the rows it talks about.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import DIGEST, Base, UTCDateTime


class GcManifestReview(Base):
    """A manifest that may be unreferenced: untagged, not in an index, no live subject."""

    __tablename__ = "gc_manifest_reviews"
    __table_args__ = (Index("ix_gc_manifest_reviews_due", "review_after"),)
    repository_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    review_after: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(20))  # what made it a candidate


class GcLinkReview(Base):
    """A blob link that no manifest of its repository may reference any more."""

    __tablename__ = "gc_link_reviews"
    __table_args__ = (Index("ix_gc_link_reviews_due", "review_after"),)
    repository_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    review_after: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(20))


class GcBlobReview(Base):
    """A blob that may be linked to no repository any more."""

    __tablename__ = "gc_blob_reviews"
    __table_args__ = (Index("ix_gc_blob_reviews_due", "review_after"),)
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    review_after: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(20))


class GcStorageDelete(Base):
    """A blob whose row is gone and whose bytes are to be deleted from storage.

    Written in the transaction that deletes the blob row; removed once the bytes are gone
    (or a new upload of the same digest made them live again). A crash in between leaves
    this row, which the next pass finishes."""

    __tablename__ = "gc_storage_deletes"
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
