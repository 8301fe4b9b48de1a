# Jedes Wort, das Leser sehen, auf Deutsch. The same keys as en.ftl.

## Locale data.
date-locale = de_DE
date-long = %A, %-d. %B %Y
date-short = %-d. %b

## The digest.
digest-view-in-browser = Im Browser ansehen
digest-greeting-named = Hallo { $name },
digest-greeting = Hallo,
digest-intro = hier sind die wichtigsten Meldungen des Tages.
digest-section-news = Top-Meldungen
digest-section-blog = Aus den Blogs
digest-by = Von { $author }
digest-read-more = Weiterlesen
digest-read-more-on = Weiterlesen auf { $host }
digest-image-credit = Bild: { $credit }
digest-subject-prefix = { $newsletter }, { $date }:
digest-preheader-lead = Die Meldung des Tages
digest-preheader-also = Außerdem: { $headlines }
digest-footer-why = Sie erhalten { $list } von { $newsletter }, weil Sie sich mit { $email } angemeldet haben.
digest-unsubscribe = Abmelden
digest-text-view = Im Browser ansehen:
digest-text-unsubscribe = Abmelden:
digest-web-reader = eine Leserin oder ein Leser
digest-preview-name = Leserin

## The web pages.
page-subscribe-title = Abonnieren
page-subscribe-intro = Die wichtigsten Meldungen und Blogbeiträge, jeden Tag per E-Mail. Wir senden einen Link zur Bestätigung.
page-subscribe-email = E-Mail-Adresse
page-subscribe-name = Name (freiwillig)
page-subscribe-list = Newsletter
page-subscribe-button = Abonnieren
page-subscribe-too-many = Zu viele Anmeldungen aus Ihrem Netz. Bitte versuchen Sie es in einigen Minuten erneut.
page-subscribe-not-text = Das Formular enthielt Bytes, die kein Text (UTF-8) sind. Bitte geben Sie es erneut ein.
page-subscribe-bad-address = Bitte prüfen Sie die Adresse: { $reason }.
page-subscribe-no-list = Es gibt keinen Newsletter namens „{ $list }“.
page-check-inbox-title = Sehen Sie in Ihr Postfach
page-check-inbox = Wenn die Adresse unseren Newsletter empfangen kann, ist eine Nachricht mit einem Bestätigungslink unterwegs. Öffnen Sie sie, um den Newsletter zu erhalten.
page-confirmed-title = Abonnement bestätigt
page-confirmed = Danke: Die nächste Ausgabe kommt in Ihr Postfach.
page-link-invalid-title = Link ungültig
page-link-invalid = Dieser Bestätigungslink ist ungültig. Bitte melden Sie sich erneut an.
page-unsubscribe-title = Abmelden
page-unsubscribe-intro = Drücken Sie den Knopf, um diesen Newsletter nicht mehr zu erhalten. Es gilt sofort.
page-unsubscribe-button = Abmelden
page-unsubscribed-title = Abgemeldet
page-unsubscribed = Sie erhalten diesen Newsletter nicht mehr.
page-unsubscribe-help = Zum Abmelden nutzen Sie den Link am Ende jeder erhaltenen Ausgabe.
page-not-found-title = Nicht gefunden
page-not-found = Diese Ausgabe gibt es nicht.
page-missing-title = Nicht gefunden
page-missing = Unter dieser Adresse gibt es keine Seite.
page-story-link-title = Link nicht gefunden
page-story-link = Dieser Link führt zu keinem Artikel.
page-story-link-archive = Frühere Ausgaben finden Sie im Archiv
page-wrong-method-title = Nicht erlaubt
page-wrong-method = Diese Adresse nimmt diese Art von Anfrage nicht an.
page-archive-empty = Noch keine Ausgaben.
page-archive-stories =
    { $count ->
        [one] eine Meldung
       *[other] { $shown } Meldungen
    }
page-archive-most-read = Meistgelesen: { $title }
page-archive-newer = Neuere Ausgaben
page-archive-older = Ältere Ausgaben
page-archive-page = Seite { $page } von { $pages }
page-archive-feed = Atom-Feed der Ausgaben
page-archive-subscribe = Abonnieren

## The confirmation email.
confirm-subject = Bestätigen Sie Ihr Abonnement von { $list }
confirm-ask = Bitte bestätigen Sie, dass Sie { $list } von { $newsletter } erhalten möchten.
confirm-button = Abonnement bestätigen
confirm-ignore = Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Sie werden nicht angemeldet.
