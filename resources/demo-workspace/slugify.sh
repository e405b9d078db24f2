# slugify TITLE: prints TITLE as a URL slug, e.g. "Hello, World!" -> "hello-world".
# Letters and digits are kept; every other run of characters becomes one dash.
slugify() {
    printf '%s' "$1" \
        | tr -cs 'A-Za-z0-9' '-' \
        | sed -e 's/^-*//' -e 's/-*$//'
}
