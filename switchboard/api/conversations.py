"""/conversations: the 1:1 threads calls belong to."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from switchboard.api.deps import CurrentUser, ServicesDep
from switchboard.api.openapi import AUTHENTICATED, errors
from switchboard.api.schemas import ConversationEnvelope, ConversationIn, ConversationsEnvelope
from switchboard.wire import ConversationOut

router = APIRouter(prefix="/conversations", tags=["conversations"], responses=AUTHENTICATED)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ConversationEnvelope, "description": "It existed already"},
        **errors(404, 415, 422),
    },
)
async def open_conversation(
    body: ConversationIn, user: CurrentUser, services: ServicesDep, response: Response
) -> ConversationEnvelope:
    conversation, created = await services.conversations.open(
        user_id=user.id, participant_ids=body.participant_ids
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ConversationEnvelope(conversation=ConversationOut.of(conversation))


@router.get("")
async def list_conversations(user: CurrentUser, services: ServicesDep) -> ConversationsEnvelope:
    conversations = await services.conversations.list_mine(user_id=user.id)
    return ConversationsEnvelope(conversations=[ConversationOut.of(c) for c in conversations])


@router.get("/{conversation_id}", responses=errors(404, 422))
async def get_conversation(
    conversation_id: str, user: CurrentUser, services: ServicesDep
) -> ConversationEnvelope:
    conversation = await services.conversations.get(
        user_id=user.id, conversation_id=conversation_id
    )
    return ConversationEnvelope(conversation=ConversationOut.of(conversation))
