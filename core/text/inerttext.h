#pragma once

#include <QString>
#include <QStringView>

// Rendering untrusted text inert. Everything an agent controls (titles, messages, commands, option
// names, file paths, plan entries, session titles it set) reaches the user's terminal or a widget, and a
// terminal obeys escape sequences: OSC 52 writes the clipboard, CSI moves the cursor and rewrites what
// was already shown, SGR 8 conceals text, C1 controls do the same in one byte. Bidi overrides and
// zero-width characters make a command read differently from what runs. So every agent-controlled
// string is passed through one of these before it is shown, by airlockctl and by the window alike.
//
// Nothing is dropped: each dangerous character is replaced by something visible that says what it was
// (ESC → ␛, BEL → ␇, DEL → ␡, C1, bidi, zero-width and other format characters → ⟨U+202E⟩), so a
// reader can see that something was there and what.

namespace airlock::text {

// For one-line places (titles, table cells, prompts, window titles): line breaks are shown too (␊).
QString inertLine(QStringView text);
// For multi-line bodies (messages, terminal output, tool input): '\n' and '\t' are kept, every other
// control character is shown.
QString inertText(QStringView text);
// For JSON meant for a terminal (airlockctl --json): the same characters written as \uXXXX escapes,
// so the document still parses to exactly the same strings and the terminal sees none of them raw.
QString inertJson(QStringView json);
// True when inertText() would change the text (so callers can say "this text had hidden characters").
bool hasHiddenCharacters(QStringView text);

} // namespace airlock::text
