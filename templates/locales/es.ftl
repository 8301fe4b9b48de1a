# Las palabras que ve el lector, en español. The same keys as en.ftl.

## Locale data.
date-locale = es_ES
date-long = %A, %-d de %B de %Y
date-short = %-d %b

## The digest.
digest-view-in-browser = Ver en el navegador
digest-greeting-named = Hola, { $name }:
digest-greeting = Hola:
digest-intro = estas son las noticias más destacadas de hoy.
digest-section-news = Lo más destacado
digest-section-blog = De los blogs
digest-by = Por { $author }
digest-read-more = Seguir leyendo
digest-read-more-on = Seguir leyendo en { $host }
digest-image-credit = Foto: { $credit }
digest-subject-prefix = { $newsletter }, { $date }:
digest-preheader-lead = La noticia del día
digest-preheader-also = Además: { $headlines }
digest-footer-why = Recibes { $list } de { $newsletter } porque te suscribiste con { $email }.
digest-unsubscribe = Darse de baja
digest-text-view = Ver en el navegador:
digest-text-unsubscribe = Darse de baja:
digest-web-reader = un lector
digest-preview-name = lectora

## The web pages.
page-subscribe-title = Suscribirse
page-subscribe-intro = Las noticias y entradas de blog más destacadas, cada día en tu correo. Te enviamos un enlace para confirmar.
page-subscribe-email = Correo electrónico
page-subscribe-name = Nombre (opcional)
page-subscribe-list = Boletín
page-subscribe-button = Suscribirse
page-subscribe-too-many = Demasiadas suscripciones desde tu red. Inténtalo de nuevo en unos minutos.
page-subscribe-not-text = El formulario contenía bytes que no son texto (UTF-8). Escríbelo de nuevo.
page-subscribe-bad-address = Revisa la dirección: { $reason }.
page-subscribe-no-list = No hay ningún boletín llamado «{ $list }».
page-check-inbox-title = Revisa tu correo
page-check-inbox = Si la dirección puede recibir nuestro boletín, va de camino un mensaje con un enlace de confirmación. Ábrelo para empezar a recibir el resumen.
page-confirmed-title = Suscripción confirmada
page-confirmed = Gracias: la próxima edición llegará a tu correo.
page-link-invalid-title = Enlace no válido
page-link-invalid = Este enlace de confirmación no es válido. Vuelve a suscribirte.
page-unsubscribe-title = Darse de baja
page-unsubscribe-intro = Pulsa el botón para dejar de recibir este boletín. Surte efecto de inmediato.
page-unsubscribe-button = Darse de baja
page-unsubscribed-title = Baja confirmada
page-unsubscribed = Ya no recibirás este boletín.
page-unsubscribe-help = Para darte de baja, usa el enlace al final de cualquier edición que hayas recibido.
page-not-found-title = No encontrado
page-not-found = No existe esa edición.
page-missing-title = No encontrado
page-missing = No hay ninguna página en esta dirección.
page-story-link-title = Enlace no encontrado
page-story-link = Este enlace no lleva a ninguna noticia.
page-story-link-archive = Las ediciones anteriores están en el archivo
page-wrong-method-title = No permitido
page-wrong-method = Esta dirección no acepta ese tipo de petición.
page-archive-empty = Todavía no hay ediciones.
page-archive-stories =
    { $count ->
        [one] una noticia
       *[other] { $shown } noticias
    }
page-archive-most-read = Lo más leído: { $title }
page-archive-newer = Ediciones más recientes
page-archive-older = Ediciones anteriores
page-archive-page = Página { $page } de { $pages }
page-archive-feed = Canal Atom de las ediciones
page-archive-subscribe = Suscribirse

## The confirmation email.
confirm-subject = Confirma tu suscripción a { $list }
confirm-ask = Confirma que quieres recibir { $list } de { $newsletter }.
confirm-button = Confirmar mi suscripción
confirm-ignore = Si no lo pediste, ignora este mensaje: no se te suscribirá.
