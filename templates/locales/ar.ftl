# الكلمات التي يراها القارئ، بالعربية. The same keys as en.ftl.

## Locale data. Jordan's month names (كانون الثاني ...); ar-EG, ar-SA and so on take their
## region's names instead.
date-locale = ar_JO
date-long = %A %-d %B %Y
date-short = %-d %B

## The digest.
digest-view-in-browser = اعرضها في المتصفح
digest-greeting-named = مرحبًا { $name }،
digest-greeting = مرحبًا،
digest-intro = إليك أهم أخبار اليوم.
digest-section-news = أهم الأخبار
digest-section-blog = من المدونات
digest-by = بقلم { $author }
digest-read-more = اقرأ المزيد
digest-read-more-on = اقرأ المزيد على { $host }
digest-image-credit = الصورة: { $credit }
digest-subject-prefix = { $newsletter }، { $date }:
digest-preheader-lead = أهم خبر اليوم
digest-preheader-also = وأيضًا: { $headlines }
digest-footer-why = تصلك { $list } من { $newsletter } لأنك اشتركت بالعنوان { $email }.
digest-unsubscribe = إلغاء الاشتراك
digest-text-view = اعرضها في المتصفح:
digest-text-unsubscribe = إلغاء الاشتراك:
digest-web-reader = قارئ
digest-preview-name = قارئنا

## The web pages.
page-subscribe-title = اشترك
page-subscribe-intro = أهم الأخبار والتدوينات في بريدك كل يوم. سنرسل إليك رابطًا لتأكيد الاشتراك.
page-subscribe-email = البريد الإلكتروني
page-subscribe-name = الاسم (اختياري)
page-subscribe-list = النشرة
page-subscribe-button = اشترك
page-subscribe-too-many = طلبات اشتراك كثيرة من شبكتك. يُرجى المحاولة بعد بضع دقائق.
page-subscribe-not-text = احتوى النموذج على بيانات ليست نصًا (UTF-8). يُرجى كتابته من جديد.
page-subscribe-bad-address = يُرجى التحقق من العنوان: { $reason }.
page-subscribe-no-list = لا توجد نشرة باسم «{ $list }».
page-check-inbox-title = تفقّد بريدك
page-check-inbox = إن كان العنوان يستقبل نشرتنا، فرسالة فيها رابط التأكيد في طريقها إليك. افتحها لتبدأ في تلقي النشرة.
page-confirmed-title = تم تأكيد الاشتراك
page-confirmed = شكرًا لك: سيصل العدد القادم إلى بريدك.
page-link-invalid-title = الرابط غير صالح
page-link-invalid = رابط التأكيد هذا غير صالح. يُرجى الاشتراك من جديد.
page-unsubscribe-title = إلغاء الاشتراك
page-unsubscribe-intro = اضغط الزر لتتوقف عن تلقي هذه النشرة. يسري ذلك فورًا.
page-unsubscribe-button = إلغاء الاشتراك
page-unsubscribed-title = تم إلغاء الاشتراك
page-unsubscribed = لن تصلك هذه النشرة بعد الآن.
page-unsubscribe-help = لإلغاء الاشتراك، استخدم الرابط في أسفل أي عدد وصلك.
page-not-found-title = غير موجود
page-not-found = لا يوجد عدد كهذا.
page-missing-title = غير موجود
page-missing = لا توجد صفحة بهذا العنوان.
page-story-link-title = الرابط غير موجود
page-story-link = هذا الرابط لا يؤدي إلى أي خبر.
page-story-link-archive = الأعداد السابقة في الأرشيف
page-wrong-method-title = غير مسموح
page-wrong-method = هذا العنوان لا يقبل هذا النوع من الطلبات.
page-archive-empty = لا توجد أعداد بعد.
page-archive-stories =
    { $count ->
        [zero] لا أخبار
        [one] خبر واحد
        [two] خبران
        [few] { $shown } أخبار
        [many] { $shown } خبرًا
       *[other] { $shown } خبر
    }
page-archive-most-read = الأكثر قراءة: { $title }
page-archive-newer = أعداد أحدث
page-archive-older = أعداد أقدم
page-archive-page = الصفحة { $page } من { $pages }
page-archive-feed = موجز Atom للأعداد
page-archive-subscribe = اشترك

## The confirmation email.
confirm-subject = أكّد اشتراكك في { $list }
confirm-ask = يُرجى تأكيد رغبتك في تلقي { $list } من { $newsletter }.
confirm-button = أكّد اشتراكي
confirm-ignore = إن لم تطلب ذلك، فتجاهل هذه الرسالة: لن يتم اشتراكك.
