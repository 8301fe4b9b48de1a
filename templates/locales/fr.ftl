# Les mots que voit le lecteur, en français. The same keys as en.ftl.

## Locale data.
date-locale = fr_FR
date-long = %A %-d %B %Y
date-short = %-d %b

## The digest.
digest-view-in-browser = Voir dans le navigateur
digest-greeting-named = Bonjour { $name },
digest-greeting = Bonjour,
digest-intro = voici les principaux articles du jour.
digest-section-news = À la une
digest-section-blog = Sur les blogs
digest-by = Par { $author }
digest-read-more = Lire la suite
digest-read-more-on = Lire la suite sur { $host }
digest-image-credit = Photo : { $credit }
digest-subject-prefix = { $newsletter }, { $date } :
digest-preheader-lead = L’article du jour
digest-preheader-also = Aussi : { $headlines }
digest-footer-why = Vous recevez { $list } de { $newsletter } car vous vous êtes abonné avec l’adresse { $email }.
digest-unsubscribe = Se désabonner
digest-text-view = Voir dans le navigateur :
digest-text-unsubscribe = Se désabonner :
digest-web-reader = un lecteur
digest-preview-name = Lectrice

## The web pages.
page-subscribe-title = S’abonner
page-subscribe-intro = Les principaux articles et billets de blog, envoyés chaque jour par e-mail. Nous envoyons un lien de confirmation.
page-subscribe-email = Adresse e-mail
page-subscribe-name = Nom (facultatif)
page-subscribe-list = Lettre d’information
page-subscribe-button = S’abonner
page-subscribe-too-many = Trop d’inscriptions depuis votre réseau. Veuillez réessayer dans quelques minutes.
page-subscribe-not-text = Le formulaire contenait des octets qui ne sont pas du texte (UTF-8). Veuillez le saisir à nouveau.
page-subscribe-bad-address = Veuillez vérifier l’adresse : { $reason }.
page-subscribe-no-list = Aucune lettre ne s’appelle « { $list } ».
page-check-inbox-title = Consultez votre boîte de réception
page-check-inbox = Si l’adresse peut recevoir notre lettre, un message avec un lien de confirmation est en route. Ouvrez-le pour commencer à recevoir le résumé.
page-confirmed-title = Abonnement confirmé
page-confirmed = Merci : la prochaine édition arrivera dans votre boîte de réception.
page-link-invalid-title = Lien non valide
page-link-invalid = Ce lien de confirmation n’est pas valide. Veuillez vous inscrire à nouveau.
page-unsubscribe-title = Se désabonner
page-unsubscribe-intro = Appuyez sur le bouton pour ne plus recevoir cette lettre. Cela prend effet immédiatement.
page-unsubscribe-button = Se désabonner
page-unsubscribed-title = Désabonné
page-unsubscribed = Vous ne recevrez plus cette lettre.
page-unsubscribe-help = Pour vous désabonner, utilisez le lien en bas de n’importe quelle édition reçue.
page-not-found-title = Introuvable
page-not-found = Cette édition n’existe pas.
page-missing-title = Introuvable
page-missing = Il n’y a pas de page à cette adresse.
page-story-link-title = Lien introuvable
page-story-link = Ce lien ne mène à aucun article.
page-story-link-archive = Les éditions précédentes sont dans les archives
page-wrong-method-title = Non autorisé
page-wrong-method = Cette adresse n’accepte pas ce type de requête.
page-archive-empty = Aucune édition pour l’instant.
page-archive-stories =
    { $count ->
        [one] un article
       *[other] { $shown } articles
    }
page-archive-most-read = Le plus lu : { $title }
page-archive-newer = Éditions plus récentes
page-archive-older = Éditions plus anciennes
page-archive-page = Page { $page } sur { $pages }
page-archive-feed = Flux Atom des éditions
page-archive-subscribe = S’abonner

## The confirmation email.
confirm-subject = Confirmez votre abonnement à { $list }
confirm-ask = Veuillez confirmer que vous souhaitez recevoir { $list } de { $newsletter }.
confirm-button = Confirmer mon abonnement
confirm-ignore = Si vous n’avez rien demandé, ignorez ce message : vous ne serez pas abonné.
