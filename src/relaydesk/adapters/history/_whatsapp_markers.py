"""What WhatsApp writes in an "Export chat" file in place of media, and the notices that
are not anyone's message, in the languages we have seen. Compared case-insensitively
with the message's first line, invisible marks and surrounding spaces removed."""

from __future__ import annotations

import re

#: Media left out of the export ("Without media").
MEDIA_OMITTED = frozenset(
    marker.casefold()
    for marker in (
        # Android
        "<Media omitted>",
        "<Multimedia omitido>",
        "<Medien ausgeschlossen>",
        "<Mídia oculta>",
        "<Arquivo de mídia oculto>",
        "<Media weggelaten>",
        "<Médias omis>",
        "<Media omessi>",
        # iOS
        "image omitted",
        "video omitted",
        "audio omitted",
        "sticker omitted",
        "GIF omitted",
        "document omitted",
        "Contact card omitted",
        "imagen omitida",
        "video omitido",
        "audio omitido",
        "sticker omitido",
        "documento omitido",
        "Bild weggelassen",
        "Video weggelassen",
        "Audio weggelassen",
        "Sticker weggelassen",
        "Dokument weggelassen",
        "imagem ocultada",
        "vídeo ocultado",
        "áudio ocultado",
        "figurinha omitida",
        "documento ocultado",
    )
)

#: iOS names a document before the marker: "invoice.pdf • 2 pages document omitted".
DOCUMENT_OMITTED = re.compile(
    r".*\s(?:document omitted|documento omitido|documento ocultado|Dokument weggelassen)",
    re.IGNORECASE,
)

#: Media included in the export: iOS "<attached: 00000012-PHOTO-2026-01-05-10-11-12.jpg>",
#: Android "IMG-20260105-WA0001.jpg (file attached)".
MEDIA_ATTACHED = re.compile(
    r"<(?:attached|adjunto|Anhang|anexado): [^>]+>"
    r"|\S.* \((?:file attached|archivo adjunto|Datei angehängt|arquivo anexado)\)",
    re.IGNORECASE,
)

#: A message deleted before the export: it says nothing.
DELETED = frozenset(
    notice.casefold()
    for notice in (
        "This message was deleted",
        "You deleted this message",
        "Se eliminó este mensaje",
        "Eliminaste este mensaje",
        "Diese Nachricht wurde gelöscht",
        "Du hast diese Nachricht gelöscht",
        "Mensagem apagada",
        "Esta mensagem foi apagada",
        "Você apagou esta mensagem",
    )
)

#: WhatsApp's mark at the end of an edited message.
EDITED = re.compile(r"\s*\u200e?<This message was edited>\s*$", re.IGNORECASE)


def is_media(first_line: str) -> bool:
    line = first_line.casefold()
    return (
        line in MEDIA_OMITTED
        or DOCUMENT_OMITTED.fullmatch(first_line) is not None
        or MEDIA_ATTACHED.fullmatch(first_line) is not None
    )


def is_deleted(first_line: str) -> bool:
    return first_line.rstrip(".").casefold() in DELETED
