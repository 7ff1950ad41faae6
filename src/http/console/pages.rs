//! The console's fixed parts, which the request state holds: its templates
//! (minijinja, HTML-escaped by default) and its limiter of failed sign-ins.

use minijinja::Environment;

/// The console's templates and its sign-in limiter.
pub struct Console {
    pages: Environment<'static>,
    signins: crate::rate::Rate,
}

impl Console {
    pub(super) fn pages(&self) -> &Environment<'static> {
        &self.pages
    }

    pub(super) fn signins(&self) -> &crate::rate::Rate {
        &self.signins
    }
}

impl Default for Console {
    fn default() -> Self {
        let mut pages = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("signin.html", include_str!("templates/signin.html")),
            ("sources.html", include_str!("templates/sources.html")),
            ("source.html", include_str!("templates/source.html")),
            ("preview.html", include_str!("templates/preview.html")),
            ("timelines.html", include_str!("templates/timelines.html")),
            ("left_out.html", include_str!("templates/left_out.html")),
        ] {
            pages
                .add_template(name, source)
                .expect("the console's templates parse");
        }
        Console {
            pages,
            // Five wrong tokens at once, then one every six seconds.
            signins: crate::rate::Rate::new(10, 5, 10_000),
        }
    }
}
