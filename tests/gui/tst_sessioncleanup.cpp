// Deleting sessions from the window (asked, with sizes), the disk column, and the retention dialog.
#include "mainwindow.h"
#include "session/retention.h"
#include "sandbox/spawned.h"
#include "session/sessionowner.h"
#include "sessionsmodel.h"
#include "store/eventstore.h"
#include "store/storereader.h"
#include "threadview.h"
#include "workspace/checkpointer.h"
#include "workspace/workspaceoptions.h"
#include "retentiondialog.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QTreeView>
#include <QTreeWidget>

using namespace airlock;
using namespace airlock::ui;

namespace {
QJsonObject deadOwner()
{
    QProcess p;
    p.start(QStringLiteral("true"), {});
    p.waitForFinished();
    QJsonObject owner = session::currentOwner();
    owner.insert(QStringLiteral("pid"), qint64(p.processId() > 0 ? p.processId() : 999999));
    return owner;
}

// Answers the next modal message box: records its text, then presses the button named `button`
// (or Cancel when empty).
struct Answerer {
    QString text;
    QTimer timer;
    explicit Answerer(const QString &button)
    {
        timer.setInterval(20);
        QObject::connect(&timer, &QTimer::timeout, &timer, [this, button] {
            auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
            if (!box)
                return;
            text = box->text() + u'\n' + box->informativeText();
            timer.stop();
            if (button.isEmpty())
                box->button(QMessageBox::Cancel)->click();
            else
                box->findChild<QPushButton *>(button)->click();
        });
        timer.start();
    }
};
} // namespace

class TestSessionCleanup : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    std::unique_ptr<store::EventStore> m_store;

    bool addSession(const QString &id, const QString &workspace, const QJsonObject &owner)
    {
        return m_store->append(id, QStringLiteral("session.created"),
                               {{QStringLiteral("title"), QStringLiteral("Session %1").arg(id)},
                                {QStringLiteral("workspace"), workspace},
                                {QStringLiteral("owner"), owner}})
            && m_store->flush();
    }

    void select(MainWindow &w, const QString &id)
    {
        QTRY_VERIFY(w.sessionsModel()->indexOf(id).isValid());
        w.selectSession(id);
        QCOMPARE(w.threadView()->currentSession(), id);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        m_db = m_dir.filePath(QStringLiteral("data/cleanup.db"));
        auto s = store::EventStore::open(m_db);
        QVERIFY(s);
        m_store = std::move(*s);
    }

    void deleteAsksWithSizes()
    {
        const QString copy = session::managedWorkspaceRoot() + QStringLiteral("/demo-gui-%1").arg(QCoreApplication::applicationPid());
        session::removeFolder(copy);
        QVERIFY(QDir().mkpath(copy));
        QFile f(copy + QStringLiteral("/big.txt"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(50000, 'x'));
        f.close();
        QVERIFY(addSession(QStringLiteral("drop"), copy, deadOwner()));
        workspace::Checkpointer checkpoints(*m_store);
        QVERIFY(checkpoints.create(workspace::CheckpointRequest{QStringLiteral("drop")}));
        const QString shadow = workspace::shadowGitDir(m_db, QStringLiteral("drop"));
        QVERIFY(QFileInfo::exists(shadow));

        MainWindow w(m_db, m_store.get());
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        select(w, QStringLiteral("drop"));
        // The Disk column shows what the session takes, once measured.
        const int row = w.sessionsModel()->indexOf(QStringLiteral("drop")).row();
        QTRY_VERIFY_WITH_TIMEOUT(w.sessionsModel()->index(row, SessionsModel::Disk).data(SessionsModel::DiskBytesRole).toLongLong() > 50000, 15000);
        QVERIFY(w.sessionsModel()->index(row, SessionsModel::Disk).data(Qt::ToolTipRole).toString().contains(shadow));

        // Cancel keeps everything.
        QAction *remove = w.findChild<QAction *>(QStringLiteral("actionDeleteSession"));
        QVERIFY(remove);
        {
            Answerer no{QString()};
            remove->trigger();
            QTRY_VERIFY(!no.text.isEmpty());
            QVERIFY2(no.text.contains(shadow), qPrintable(no.text));
            QVERIFY2(no.text.contains(copy), qPrintable(no.text));
        }
        QCoreApplication::processEvents(); // whatever "No" set off has run: nothing was removed
        QVERIFY(w.sessionsModel()->indexOf(QStringLiteral("drop")).isValid());
        QVERIFY(QFileInfo::exists(shadow));

        // Delete removes the row, the history and the copy.
        Answerer yes{QStringLiteral("confirmDelete")};
        remove->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!w.sessionsModel()->indexOf(QStringLiteral("drop")).isValid(), 10000);
        // The store's tombstone comes first (the row follows it), the files after it, off this thread.
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(shadow), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(copy), 10000);
        auto reader = store::StoreReader::open(m_db);
        QVERIFY(!reader->session(QStringLiteral("drop")).value());
    }

    void aSessionAnotherProcessOwnsIsRefused()
    {
        QJsonObject init = session::currentOwner();
        init.insert(QStringLiteral("pid"), 1); // always alive, and started when it did
        init.insert(QStringLiteral("start"), QString::number(sandbox::processStartTime(1)));
        init.insert(QStringLiteral("program"), QStringLiteral("airlockctl"));
        QVERIFY(addSession(QStringLiteral("theirs"), m_dir.path(), init));
        MainWindow w(m_db, m_store.get());
        w.show();
        select(w, QStringLiteral("theirs"));
        w.deleteCurrentSession();
        auto *error = w.findChild<QLabel *>(QStringLiteral("storeError"));
        QTRY_VERIFY(error->isVisible());
        QVERIFY2(error->text().contains(QStringLiteral("cannot be deleted")), qPrintable(error->text()));
        QVERIFY(w.sessionsModel()->indexOf(QStringLiteral("theirs")).isValid());
    }

    void retentionDialogPreviewsAndCleansUp()
    {
        for (const char *id : {"r1", "r2", "r3"})
            QVERIFY(addSession(QString::fromLatin1(id), m_dir.path(), deadOwner()));
        RetentionDialog dialog(m_db);
        QSignalSpy ready(&dialog, &RetentionDialog::previewReady);
        const auto why = [&dialog] {
            QStringList texts;
            for (QLabel *l : dialog.findChildren<QLabel *>())
                texts << l->text();
            return texts.join(u'|');
        };
        QVERIFY2(ready.wait(), qPrintable(why()));
        QCOMPARE(dialog.preview()->topLevelItemCount(), 0); // no policy: nothing goes
        dialog.keepSessions()->setValue(2);
        QVERIFY2(ready.wait(), qPrintable(why()));
        // r2 and r3 are the newest; "theirs" is past the count but its process lives.
        QStringList listed;
        for (int i = 0; i < dialog.preview()->topLevelItemCount(); ++i)
            listed << dialog.preview()->topLevelItem(i)->data(0, Qt::UserRole).toString() + u':'
                    + dialog.preview()->topLevelItem(i)->text(3);
        QVERIFY2(listed.contains(QStringLiteral("r1:")), qPrintable(listed.join(u'|')));
        QCOMPARE(listed.filter(QStringLiteral("theirs:kept")).size(), 1);
        auto *cleanUp = dialog.findChild<QPushButton *>(QStringLiteral("cleanUpNow"));
        QVERIFY(cleanUp->isEnabled());
        QSignalSpy cleaned(&dialog, &RetentionDialog::cleanedUp);
        cleanUp->click();
        QVERIFY(cleaned.wait());
        QVERIFY(cleaned.first().first().toString().contains(QStringLiteral("Removed 1 session")));

        auto reader = store::StoreReader::open(m_db);
        QVERIFY(!reader->session(QStringLiteral("r1")).value());
        QVERIFY(reader->session(QStringLiteral("r2")).value());
        QVERIFY(reader->session(QStringLiteral("theirs")).value());
        QCOMPARE(session::loadRetention(m_db).value().keepSessions, 2);
    }
};

QTEST_MAIN(TestSessionCleanup)
#include "tst_sessioncleanup.moc"
