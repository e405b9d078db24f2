// airlock: the desktop control panel.
#include "mainwindow.h"
#include "store/eventstore.h"
#include "store/paths.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QMessageBox>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Airlock"));
    QApplication::setApplicationName(QStringLiteral("airlock"));
    QApplication::setApplicationDisplayName(QStringLiteral("Airlock"));
    QApplication::setApplicationVersion(QStringLiteral(AIRLOCK_VERSION));
    QApplication::setDesktopFileName(QStringLiteral(AIRLOCK_APP_ID));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/airlock.svg")));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Run AI coding agents inside isolation policies."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({QStringLiteral("db"), QStringLiteral("The database file (default: $AIRLOCK_DB, else "
                                                           "$XDG_DATA_HOME/airlock/airlock.db)."),
                      QStringLiteral("PATH")});
    parser.process(app);

    const QString path = airlock::store::resolveDatabasePath(parser.value(QStringLiteral("db")));
    // Opening creates or upgrades the database; a bad file is reported and left alone.
    auto store = airlock::store::EventStore::open(path);
    if (!store) {
        QMessageBox::critical(nullptr, QStringLiteral("Airlock"),
                              QStringLiteral("Airlock cannot open its database.\n\n%1").arg(store.error().message));
        return 1;
    }

    airlock::ui::MainWindow window(path, store->get());
    window.show();
    return QApplication::exec();
}
