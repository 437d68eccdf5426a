from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="AuditWriterModel")


@_attrs_define
class AuditWriterModel:
    """The audit writer's group commit since start-up: ``rows_per_commit`` is rows per fsync.

    Attributes:
        commit_ms_p50 (float): Median time of one commit (fsync included)
        commits (int): Fsynced commits (groups of rows)
        failed_commits (int): Commits that failed (disk full…): rows refused
        group_max (int): Largest group, recent commits
        group_p50 (float): Median rows per commit, recent commits
        rows_per_commit (float):
        rows_written (int):
    """

    commit_ms_p50: float
    commits: int
    failed_commits: int
    group_max: int
    group_p50: float
    rows_per_commit: float
    rows_written: int

    def to_dict(self) -> dict[str, Any]:
        commit_ms_p50 = self.commit_ms_p50

        commits = self.commits

        failed_commits = self.failed_commits

        group_max = self.group_max

        group_p50 = self.group_p50

        rows_per_commit = self.rows_per_commit

        rows_written = self.rows_written

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "commit_ms_p50": commit_ms_p50,
                "commits": commits,
                "failed_commits": failed_commits,
                "group_max": group_max,
                "group_p50": group_p50,
                "rows_per_commit": rows_per_commit,
                "rows_written": rows_written,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        commit_ms_p50 = d.pop("commit_ms_p50")

        commits = d.pop("commits")

        failed_commits = d.pop("failed_commits")

        group_max = d.pop("group_max")

        group_p50 = d.pop("group_p50")

        rows_per_commit = d.pop("rows_per_commit")

        rows_written = d.pop("rows_written")

        audit_writer_model = cls(
            commit_ms_p50=commit_ms_p50,
            commits=commits,
            failed_commits=failed_commits,
            group_max=group_max,
            group_p50=group_p50,
            rows_per_commit=rows_per_commit,
            rows_written=rows_written,
        )

        return audit_writer_model
