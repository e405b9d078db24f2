#include "policy/textdiff.h"

#include <git2.h>

namespace airlock::policy {

namespace {
struct Collector {
    QByteArray out;
};

int onLine(const git_diff_delta *, const git_diff_hunk *, const git_diff_line *line, void *payload)
{
    auto *c = static_cast<Collector *>(payload);
    switch (line->origin) {
    case GIT_DIFF_LINE_CONTEXT:
    case GIT_DIFF_LINE_ADDITION:
    case GIT_DIFF_LINE_DELETION:
        c->out.append(line->origin);
        break;
    default:
        break; // hunk and file headers arrive with their own text
    }
    c->out.append(line->content, qsizetype(line->content_len));
    return 0;
}
} // namespace

QString unifiedDiff(const QByteArray &before, const QByteArray &after, const QString &beforeName,
                    const QString &afterName, int context)
{
    if (before == after)
        return {};
    git_libgit2_init(); // reference-counted; cheap after the first call
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.context_lines = quint32(std::max(0, context));
    const QByteArray a = beforeName.toUtf8(), b = afterName.toUtf8();
    Collector c;
    c.out = "--- " + a + "\n+++ " + b + "\n";
    const int rc = git_diff_buffers(before.constData(), size_t(before.size()), a.constData(), after.constData(),
                                    size_t(after.size()), b.constData(), &opts, nullptr, nullptr,
                                    [](const git_diff_delta *, const git_diff_hunk *hunk, void *payload) {
                                        auto *col = static_cast<Collector *>(payload);
                                        col->out.append(hunk->header, qsizetype(hunk->header_len));
                                        return 0;
                                    },
                                    onLine, &c);
    git_libgit2_shutdown();
    if (rc != 0)
        return QStringLiteral("(the difference could not be computed)");
    return QString::fromUtf8(c.out);
}

} // namespace airlock::policy
