#include "policy/commandsafety.h"

#include "policy/compiler.h"

#include <QRegularExpression>

namespace airlock::policy {

namespace {

bool isWordCharacter(QChar c)
{
    if (c.unicode() < 0x80)
        return c.isLetterOrNumber() || QStringView(u"-_./=:,+@%^~").contains(c);
    // Letters and digits of other scripts are words to a shell too; spaces, symbols and format
    // characters of other scripts are not trusted to be.
    return c.isLetterOrNumber() || c.isMark();
}

const QRegularExpression &assignmentRe()
{
    static const QRegularExpression re(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*="));
    return re;
}

// --- read-only commands and their safe options ---------------------------------------------------
//
// An option list is space-separated: `--flag` stands alone, `--name=` takes a value (`--name=V` or
// `--name V`), `-x:` is a one-letter option with a value (`-xV` or `-x V`) and `-word` a one-dash
// word option (find's `-name:` takes a value). `bundle` holds the one-letter flags that may be
// combined (`-la`).
struct Spec {
    const char *name;
    const char *bundle;
    const char *options;
    int maxPositionals = -1;     // uniq's second operand is an output file
    bool numericShort = false;   // head -5, git log -3
    bool (*positionalOk)(const QString &word, int index) = nullptr;
};

bool sedScriptOk(const QString &word, int index)
{
    if (index > 0)
        return true; // files to read
    // Printing and deleting lines, and substitutions whose only flags print or choose matches: no
    // `e` (run), `w`/`W` (write), `r`/`R` (read another file) command or flag, one command only.
    static const QRegularExpression re(QStringLiteral(
        R"(^(?:(?:\d+|\$)(?:,(?:\d+|\$|\+\d+))?|/(?:[^/\\]|\\.)*/(?:,/(?:[^/\\]|\\.)*/)?)?)"
        R"((?:[pdq=]|s/(?:[^/\\]|\\.)*/(?:[^/\\]|\\.)*/[gpiI0-9]*)$)"));
    return re.match(word).hasMatch();
}

constexpr const char *kDiffOptions =
    "--stat --stat= --numstat --shortstat --name-only --name-status --summary --patch -p -u -U: --unified= "
    "--cached --staged --no-color --color --color= --word-diff --word-diff= --ignore-all-space -w "
    "--ignore-space-change -b --no-renames -M --find-renames --find-renames= --diff-filter= --exit-code --quiet "
    "--no-ext-diff --no-textconv --raw --minimal --patience --histogram --relative --relative= --abbrev --abbrev= "
    "--full-index --binary --check --merge-base -R --text -a --ignore-blank-lines --function-context -W "
    "--no-prefix --color-moved --color-moved= --dirstat --dirstat= -z --compact-summary --no-patch -s";
constexpr const char *kLogOptions =
    "--oneline --graph --decorate --decorate= --no-decorate --all --branches --tags --remotes -n: --max-count= "
    "--skip= --since= --until= --after= --before= --author= --committer= --grep= --format= --pretty --pretty= "
    "--reverse --first-parent --no-merges --merges --follow --date= --abbrev-commit --no-abbrev-commit "
    "--left-right --cherry-pick --boundary --topo-order --date-order -i --regexp-ignore-case";

const Spec kSpecs[] = {
    {"ls", "1aAbBcCdfFghHiklLmnNopqQrRsStuUvxXZ",
     "--all --almost-all --color --color= --format= --sort= --time-style= --human-readable --si --classify "
     "--group-directories-first --recursive --directory --full-time --inode --size --reverse --dereference "
     "--no-group --numeric-uid-gid --ignore-backups --hide= --ignore= -I: -w: --width= -T: --tabsize= "
     "--quoting-style= --indicator-style= --time= --block-size= --literal --escape --zero"},
    {"cat", "AbeEnstTuv", "--number --number-nonblank --show-all --show-ends --show-tabs --show-nonprinting "
                          "--squeeze-blank"},
    {"head", "qvz", "-n: -c: --lines= --bytes= --quiet --silent --verbose --zero-terminated", -1, true},
    {"tail", "qvzfF", "-n: -c: --lines= --bytes= --quiet --silent --verbose --zero-terminated --follow "
                      "--follow= --retry -s: --sleep-interval=", -1, true},
    {"wc", "clmwL", "--bytes --chars --lines --words --max-line-length"},
    {"grep", "iywvnlLcHhosrRqEFGPxzZabITU",
     "-e: -m: -A: -B: -C: --regexp= --max-count= --after-context= --before-context= --context= --include= "
     "--exclude= --exclude-dir= --color --color= --colour --colour= --ignore-case --no-ignore-case "
     "--word-regexp --line-regexp --invert-match --line-number --files-with-matches --files-without-match "
     "--count --with-filename --no-filename --only-matching --recursive --dereference-recursive --quiet "
     "--silent --extended-regexp --fixed-strings --basic-regexp --perl-regexp --null --null-data --text "
     "--byte-offset --binary-files= --label= --no-messages",
     -1, true},
    {"rg", "iSsFwxvnNlcHhoLuU0.qpa",
     "-e: -g: -t: -T: -m: -A: -B: -C: -M: -d: --regexp= --glob= --iglob= --type= --type-not= --max-count= "
     "--after-context= --before-context= --context= --max-columns= --max-depth= --max-filesize= --color= "
     "--colors= --sort= --sortr= --context-separator= --json --files --files-with-matches "
     "--files-without-match --count --count-matches --line-number --no-line-number --ignore-case "
     "--smart-case --case-sensitive --fixed-strings --word-regexp --line-regexp --hidden --no-ignore "
     "--no-ignore-vcs --no-ignore-dot --follow --only-matching --invert-match --heading --no-heading "
     "--with-filename --no-filename --vimgrep --stats --trim --multiline --multiline-dotall --null --quiet "
     "--no-messages --pretty --type-list --column --no-column --unrestricted --text --binary --no-config "
     "--passthru --crlf --null-data --max-columns-preview --byte-offset"},
    {"find", "",
     "-H -L -P -name: -iname: -path: -ipath: -wholename: -iwholename: -lname: -ilname: -type: -xtype: "
     "-maxdepth: -mindepth: -size: -mtime: -mmin: -atime: -amin: -ctime: -cmin: -newer: -user: -group: "
     "-perm: -regex: -iregex: -regextype: -links: -samefile: -inum: -uid: -gid: -used: -print -print0 "
     "-printf: -prune -not -a -o -and -or -empty -true -false -depth -follow -xdev -mount -readable "
     "-writable -executable -nouser -nogroup -quit -ls -daystart -noleaf -ignore_readdir_race"},
    {"sed", "nEsuzr", "--quiet --silent --regexp-extended --posix --null-data --separate --unbuffered "
                      "--debug --sandbox", -1, false, sedScriptOk},
    {"sort", "bdfgiMhnRrVcCsuz",
     "-k: -t: --key= --field-separator= --ignore-leading-blanks --dictionary-order --ignore-case "
     "--general-numeric-sort --ignore-nonprinting --month-sort --human-numeric-sort --numeric-sort "
     "--random-sort --reverse --version-sort --check --check= --stable --unique --zero-terminated --sort="},
    {"uniq", "cdDiuz", "-f: -s: -w: --count --repeated --all-repeated --all-repeated= --ignore-case --unique "
                       "--zero-terminated --skip-fields= --skip-chars= --check-chars= --group --group=", 1},
    {"diff", "qsuNaiwbBEptTrd",
     "-U: --unified --unified= -C: --context --context= --label= --exclude= -x: --color --color= --brief "
     "--report-identical-files --recursive --new-file --ignore-case --ignore-all-space --ignore-space-change "
     "--ignore-blank-lines --text --side-by-side --expand-tabs --minimal --strip-trailing-cr --normal "
     "--show-c-function --width= -W:"},
    {"du", "ahsckmbLlxSD0", "-d: --max-depth= --all --human-readable --summarize --total --apparent-size "
                            "--bytes --null --one-file-system --dereference --exclude="},
    {"stat", "LftZ", "-c: --format= --printf= --dereference --file-system --terse"},
    {"pwd", "LP", ""},
    {"echo", "neE", ""},
};

// git: options allowed before the subcommand, then per subcommand.
const Spec kGitSpecs[] = {
    {"status", "sbvuz", "--short --branch --porcelain --porcelain= --long --verbose --untracked-files "
                        "--untracked-files= --ignored --ignored= --no-renames --ahead-behind --no-ahead-behind "
                        "--show-stash -u: --null"},
    {"diff", "", kDiffOptions},
    {"log", "", nullptr, -1, true},
    {"show", "", nullptr, -1, true},
    {"rev-parse", "", "--show-toplevel --abbrev-ref --abbrev-ref= --short --short= --verify --git-dir "
                      "--is-inside-work-tree --is-inside-git-dir --show-prefix --show-cdup --symbolic-full-name "
                      "--quiet -q --absolute-git-dir"},
    {"ls-files", "cdmosutvz", "--cached --deleted --modified --others --stage --unmerged --exclude-standard "
                              "--full-name --error-unmatch --directory --no-empty-directory -x: --exclude="},
    {"branch", "arv", "--list --all --remotes --verbose --show-current --contains --contains= --merged "
                      "--merged= --no-merged --no-merged= --sort= --format= --no-color --color --color= "
                      "--points-at=", 0},
    {"blame", "wsetlpnf", "-L: --porcelain --line-porcelain --date= --root --show-email --show-number "
                          "--show-name --no-textconv --incremental"},
};

QString optionList(const Spec &spec)
{
    if (spec.options)
        return QString::fromLatin1(spec.options);
    // log and show read diffs too.
    return QString::fromLatin1(kLogOptions) + u' ' + QString::fromLatin1(kDiffOptions);
}

// Checks argv[from..] against one command's spec; the reason when an argument is not safe.
std::optional<QString> checkAgainst(const Spec &spec, const QString &label, const QStringList &argv, qsizetype from)
{
    const QStringList options = optionList(spec).split(u' ', Qt::SkipEmptyParts);
    const QString bundle = QString::fromLatin1(spec.bundle);
    const auto has = [&](const QString &token) { return options.contains(token); };
    const auto unsafe = [&](const QString &arg) {
        return QStringLiteral("%1 is not a safe option of %2").arg(shellQuote(arg), label);
    };
    int positionals = 0;
    bool optionsEnded = false;
    for (qsizetype i = from; i < argv.size(); ++i) {
        const QString &arg = argv.at(i);
        const bool option = !optionsEnded && arg.size() > 1 && arg.startsWith(u'-');
        if (!option) {
            if (spec.maxPositionals >= 0 && positionals >= spec.maxPositionals)
                return QStringLiteral("%1 takes no further operand %2").arg(label, shellQuote(arg));
            if (spec.positionalOk && !spec.positionalOk(arg, positionals))
                return QStringLiteral("%1 is not a script Airlock knows to be read-only for %2").arg(shellQuote(arg), label);
            ++positionals;
            continue;
        }
        if (arg == u"--") {
            optionsEnded = true;
            continue;
        }
        if (spec.numericShort && arg.size() > 1 && arg.mid(1).toUInt() > 0)
            continue;
        if (arg.startsWith(u"--")) {
            const qsizetype eq = arg.indexOf(u'=');
            const QString name = eq < 0 ? arg : arg.left(eq);
            if (eq < 0 && has(name))
                continue;
            if (!has(name + u'='))
                return unsafe(name);
            if (eq < 0)
                ++i; // the value is the next word
            continue;
        }
        if (has(arg))
            continue; // a one-dash word option (find -print), or one letter alone
        if (has(arg + u':')) {
            ++i;
            continue;
        }
        if (bundle.isEmpty())
            return unsafe(arg.section(u'=', 0, 0));
        // One-letter flags, perhaps combined, the last perhaps with its value attached.
        for (qsizetype k = 1; k < arg.size(); ++k) {
            const QChar letter = arg.at(k);
            if (has(QStringLiteral("-%1:").arg(letter))) {
                if (k + 1 == arg.size())
                    ++i;
                break;
            }
            if (!bundle.contains(letter))
                return unsafe(QStringLiteral("-%1").arg(letter));
        }
    }
    return std::nullopt;
}

std::optional<QString> checkGit(const QStringList &argv)
{
    // Options before the subcommand: only those that change nothing about what runs.
    static const QStringList global{QStringLiteral("--no-pager"), QStringLiteral("-P"),
                                    QStringLiteral("--no-optional-locks"), QStringLiteral("--literal-pathspecs")};
    qsizetype i = 1;
    while (i < argv.size() && argv.at(i).startsWith(u'-')) {
        if (!global.contains(argv.at(i)))
            return QStringLiteral("%1 is not a safe option of git").arg(shellQuote(argv.at(i).section(u'=', 0, 0)));
        ++i;
    }
    if (i >= argv.size())
        return QStringLiteral("git without a subcommand");
    const QString sub = argv.at(i);
    for (const Spec &spec : kGitSpecs) {
        if (sub == QLatin1String(spec.name))
            return checkAgainst(spec, QStringLiteral("git ") + sub, argv, i + 1);
    }
    return QStringLiteral("git %1 is not a read-only git command").arg(shellQuote(sub));
}

std::optional<QString> checkTar(const QStringList &argv)
{
    // Listing an archive only: t (list), v, f FILE and the decompressors tar itself knows.
    static const Spec list{"tar", "tvzjJ", "-f: --list --verbose --file= --gzip --bzip2 --xz --zstd"};
    QStringList args = argv;
    if (args.size() > 1 && !args.at(1).startsWith(u'-'))
        args[1].prepend(u'-'); // the old style: `tar tvf x.tar`
    bool listing = false;
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString &a = args.at(i);
        if (a == u"--list" || (a.startsWith(u'-') && !a.startsWith(u"--") && a.contains(u't')))
            listing = true;
    }
    if (!listing)
        return QStringLiteral("tar without -t only lists nothing; anything else it does may write");
    return checkAgainst(list, QStringLiteral("tar"), args, 1);
}

} // namespace

std::optional<PlainCommand> plainCommand(QStringView line)
{
    enum class In { Space, Word, Single, Double };
    In state = In::Space;
    QStringList words, raws;
    QString word, raw;
    const auto endWord = [&] {
        words << word;
        raws << raw;
        word.clear();
        raw.clear();
    };
    for (const QChar c : line) {
        if (c.unicode() < 0x20 && c != u'\t')
            return std::nullopt; // newlines chain commands; other controls have no place here
        if (c.unicode() == 0x7f || c.category() == QChar::Other_Format || c.category() == QChar::Other_Surrogate)
            return std::nullopt;
        switch (state) {
        case In::Single:
            if (c == u'\'')
                state = In::Word;
            else
                word += c;
            raw += c;
            break;
        case In::Double:
            if (c == u'"')
                state = In::Word;
            else if (c == u'$' || c == u'`' || c == u'\\' || c == u'!')
                return std::nullopt; // expansions and escapes inside double quotes
            else
                word += c;
            raw += c;
            break;
        case In::Space:
        case In::Word:
            if (c == u' ' || c == u'\t') {
                if (state == In::Word)
                    endWord();
                state = In::Space;
                break;
            }
            state = In::Word;
            raw += c;
            if (c == u'\'')
                state = In::Single;
            else if (c == u'"')
                state = In::Double;
            else if (isWordCharacter(c))
                word += c;
            else
                return std::nullopt; // ; | & < > ( ) $ ` \ * ? [ ] { } # ! and the like
            break;
        }
    }
    if (state == In::Single || state == In::Double)
        return std::nullopt;
    if (state == In::Word)
        endWord();
    PlainCommand out;
    qsizetype i = 0;
    // Assignments are recognised only when written plainly: `'A=1' ls` runs a command named A=1.
    while (i < words.size() && assignmentRe().match(raws.at(i)).hasMatch()
           && raws.at(i).left(raws.at(i).indexOf(u'=')) == words.at(i).left(words.at(i).indexOf(u'='))) {
        out.env << words.at(i);
        ++i;
    }
    out.argv = words.mid(i);
    return out;
}

bool isHarmlessVariable(QStringView assignment)
{
    const qsizetype eq = assignment.indexOf(u'=');
    const QStringView name = eq < 0 ? assignment : assignment.left(eq);
    const QStringView value = eq < 0 ? QStringView() : assignment.mid(eq + 1);
    static const QStringList harmless{
        QStringLiteral("LANG"), QStringLiteral("LANGUAGE"), QStringLiteral("TERM"), QStringLiteral("COLORTERM"),
        QStringLiteral("NO_COLOR"), QStringLiteral("FORCE_COLOR"), QStringLiteral("CLICOLOR"),
        QStringLiteral("CLICOLOR_FORCE"), QStringLiteral("COLUMNS"), QStringLiteral("LINES"), QStringLiteral("TZ"),
        QStringLiteral("CI")};
    if (harmless.contains(name.toString()))
        return true;
    // LC_* chooses a locale; LOCPATH (where locales are loaded from) does not start with LC_.
    if (name.startsWith(u"LC_"))
        return true;
    if ((name == u"PAGER" || name == u"GIT_PAGER") && (value == u"cat" || value.isEmpty()))
        return true;
    return false;
}

QStringList riskyVariables(const QStringList &env)
{
    QStringList risky;
    for (const QString &assignment : env) {
        if (!isHarmlessVariable(assignment))
            risky << assignment;
    }
    return risky;
}

std::optional<QString> unsafeArguments(const QStringList &argv)
{
    if (argv.isEmpty())
        return QStringLiteral("no command");
    const QString name = argv.first().section(u'/', -1);
    if (name == u"git")
        return checkGit(argv);
    if (name == u"tar")
        return checkTar(argv);
    for (const Spec &spec : kSpecs) {
        if (name == QLatin1String(spec.name))
            return checkAgainst(spec, name, argv, 1);
    }
    return std::nullopt;
}

QString joinShellWords(const QStringList &words)
{
    QStringList quoted;
    quoted.reserve(words.size());
    for (const QString &w : words)
        quoted << (w.isEmpty() ? QStringLiteral("''") : shellQuote(w));
    return quoted.join(u' ');
}

bool isShellLine(const QString &command, const QStringList &args)
{
    if (!args.isEmpty())
        return false;
    static const QString syntax = QStringLiteral(" \t\n|&;<>()$`\\\"'*?[]#~={}!");
    for (const QChar c : command)
        if (syntax.contains(c))
            return true;
    return false;
}

} // namespace airlock::policy
