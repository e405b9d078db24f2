#pragma once

#include <QDialog>

namespace airlock::ui {

class AboutDialog : public QDialog
{
    Q_OBJECT
public:
    explicit AboutDialog(const QString &databasePath, QWidget *parent = nullptr);
};

} // namespace airlock::ui
