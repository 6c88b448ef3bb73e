"""Pydantic shapes of the auth API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from huiju.auth.roles import Role


class DepartmentIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, examples=["GA"])
    name: str = Field(min_length=1, max_length=200, examples=["示例市公安局"])
    level: str = Field(pattern="^(province|city|county)$", examples=["city"])
    region_code: str = Field(pattern=r"^\d{6}$", examples=["990100"])
    parent_code: str | None = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    level: str
    region_code: str
    parent_id: int | None


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(default="", max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    department_code: str | None = None


class MembershipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    role: str
    department_id: int | None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    is_active: bool
    memberships: list[MembershipOut]


class MeOut(BaseModel):
    user_id: int | None
    username: str
    display_name: str
    roles: list[MembershipOut]
    scopes: list[str] | None


class TokenIn(BaseModel):
    name: str = Field(default="", max_length=100)
    scopes: list[str] = Field(min_length=1, examples=[["auth.department.view"]])
    days: int | None = Field(default=None, ge=1, le=3650)
    user_id: int | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    prefix: str
    name: str
    user_id: int
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedTokenOut(BaseModel):
    token: TokenOut
    plaintext: str = Field(description="Shown once; store it now, only its hash is kept.")
