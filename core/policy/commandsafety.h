#pragma once

#include <QString>
#include <QStringList>

#include <optional>

// What an allow rule may trust about a command before its pattern is even looked at.
//
// A command pattern such as `git diff` or `find` is meant as "this read-only command"; the command
// line the agent sends can make the same words do something else: a shell metacharacter chains
// another command, a variable (`LD_PRELOAD`, `GIT_EXTERNAL_DIFF`, `PAGER`, `BASH_ENV` …) runs code
// of its choosing, an option (`git diff --output=FILE`, `find -exec`, `sed -i`, `rg --pre`,
// `sort -o`, `tar --to-command`) writes files or runs programs. An allow rule therefore only ever
// matches a command that is plain words, sets no variable outside a small harmless set, and, for the
// read-only commands known here, uses only options on that command's list of safe options. Anything
// else falls through to ask (or deny) — the rule engine never guesses in favour of running.

namespace airlock::policy {

// A shell command line read as plain words: no operator, redirection, expansion, glob, comment or
// escape anywhere outside quotes, no `$`, backquote or backslash inside double quotes, no control
// character. Leading `NAME=value` words are the variables the line sets for its command.
struct PlainCommand {
    QStringList env;  // NAME=value
    QStringList argv; // the words with their quotes removed, as the command receives them
};
std::optional<PlainCommand> plainCommand(QStringView line);

// Whether a variable set for a command may stay without asking: locale, terminal size and colour, the
// time zone. Every other name — loaders, interpreters' start-up hooks, git's configuration, pagers,
// editors, PATH, HOME — can change what runs. `PAGER=cat` and `GIT_PAGER=cat` are the one exception.
bool isHarmlessVariable(QStringView assignment);
// The assignments of `env` (NAME=value) that are not harmless, in order.
QStringList riskyVariables(const QStringList &env);

// For a read-only command listed here (ls, cat, head, tail, wc, grep, rg, find, sed, sort, uniq, tar,
// diff, du, stat, pwd, echo and git's status, diff, log, show, rev-parse, ls-files, branch, blame):
// why the arguments are not all safe ("--output is not a safe option of git diff"), or nothing. A
// command not listed here answers nothing: its allow rule's own pattern is what the user chose.
std::optional<QString> unsafeArguments(const QStringList &argv);

// Quotes words for display so that the shown line reads back as the same words.
QString joinShellWords(const QStringList &words);

// Whether a command given as one string with no arguments is a shell line ("npm test && ls",
// "echo hi > x"), not a program name: it has blanks or shell syntax in it. Editors' ACP clients run
// such a terminal/create command through `sh -c`, and so does Airlock.
bool isShellLine(const QString &command, const QStringList &args);

} // namespace airlock::policy
