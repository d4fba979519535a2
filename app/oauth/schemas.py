"""Request and response bodies of the OAuth admin and "my apps" endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from app.core.schemas import Schema

GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]
ScopeName = Literal[
    "practitioners:read", "slots:read", "appointments:read", "appointments:write", "agenda:read"
]


class ClientCreate(Schema):
    name: str = Field(min_length=1, max_length=120)
    redirect_uris: list[str] = Field(default_factory=list, max_length=10)
    grant_types: list[GrantType] = Field(min_length=1)
    scopes: list[ScopeName] = Field(min_length=1)


class ClientCreated(BaseModel):
    client_id: str
    #: shown once; erdv keeps only its HMAC
    client_secret: str
    enabled: bool


class ClientRead(BaseModel):
    client_id: str
    name: str
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    enabled: bool
    created_at: datetime


class AuthorizedAppRead(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    authorized_at: datetime
    last_token_at: datetime | None


class ServerMetadata(BaseModel):
    """RFC 8414 §2, with RFC 9207's ``authorization_response_iss_parameter_supported``."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    introspection_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    code_challenge_methods_supported: list[str]
    authorization_response_iss_parameter_supported: bool


#: an OAuth client's id in a path (ids are at most 64 characters)
ClientIdPath = Annotated[str, Path(max_length=64)]
