# Every word a reader sees, in English. Each language's file has the same keys (a test checks);
# a site adds or overrides languages with files named like this one (`ar.ftl`, `pt-BR.ftl`) in
# the directory named by the `locale.dir` setting.

## Locale data: the glibc locale whose day and month names dates use (a region in the list's
## language tag, as in en-US, wins), and the strftime patterns of dates.
date-locale = en_GB
date-long = %A, %-d %B %Y
date-short = %-d %b

## The digest. { $email } and { $name } are filled per reader.
digest-view-in-browser = View in browser
digest-greeting-named = Hello { $name },
digest-greeting = Hello,
digest-intro = here are today's top stories.
digest-section-news = Top stories
digest-section-blog = From the blogs
digest-by = By { $author }
digest-read-more = Read more
digest-read-more-on = Read more on { $host }
digest-image-credit = Picture: { $credit }
digest-subject-prefix = { $newsletter }, { $date }:
digest-preheader-lead = Today's top story
digest-preheader-also = Also: { $headlines }
digest-footer-why = You receive { $list } from { $newsletter } because you subscribed as { $email }.
digest-unsubscribe = Unsubscribe
digest-text-view = View in your browser:
digest-text-unsubscribe = Unsubscribe:
digest-web-reader = a reader
# The made-up name `digest preview` greets.
digest-preview-name = Reader

## The web pages.
page-subscribe-title = Subscribe
page-subscribe-intro = Top stories and blog posts, emailed to you each day. We send a link to confirm.
page-subscribe-email = Email address
page-subscribe-name = Name (optional)
page-subscribe-list = Newsletter
page-subscribe-button = Subscribe
page-subscribe-too-many = Too many sign-ups from your network. Please try again in a few minutes.
page-subscribe-not-text = The form held bytes that are not text (UTF-8). Please type it again.
page-subscribe-bad-address = Please check the address: { $reason }.
page-subscribe-no-list = There is no newsletter called “{ $list }”.
page-check-inbox-title = Check your inbox
page-check-inbox = If the address can receive our newsletter, a message with a confirmation link is on its way. Open it to start receiving the digest.
page-confirmed-title = Subscription confirmed
page-confirmed = Thank you: the next edition will be in your inbox.
page-link-invalid-title = Link not valid
page-link-invalid = This confirmation link is not valid. Please sign up again.
page-unsubscribe-title = Unsubscribe
page-unsubscribe-intro = Press the button to stop receiving this newsletter. It takes effect at once.
page-unsubscribe-button = Unsubscribe
page-unsubscribed-title = Unsubscribed
page-unsubscribed = You will not receive this newsletter any more.
page-unsubscribe-help = To unsubscribe, use the link at the bottom of any edition you received.
page-not-found-title = Not found
page-not-found = There is no such edition.
page-missing-title = Not found
page-missing = There is no page at this address.
page-story-link-title = Link not found
page-story-link = This link does not lead to a story.
page-story-link-archive = Past editions are in the archive
page-wrong-method-title = Not allowed
page-wrong-method = This address does not take that kind of request.
page-archive-empty = No editions yet.
page-archive-stories =
    { $count ->
        [one] one story
       *[other] { $shown } stories
    }
page-archive-most-read = Most read: { $title }
page-archive-newer = Newer editions
page-archive-older = Older editions
page-archive-page = Page { $page } of { $pages }
page-archive-feed = Atom feed of the editions
page-archive-subscribe = Subscribe

## The confirmation email.
confirm-subject = Confirm your subscription to { $list }
confirm-ask = Please confirm that you want { $list } from { $newsletter }.
confirm-button = Confirm my subscription
confirm-ignore = If you did not ask for this, ignore this email: you will not be subscribed.
