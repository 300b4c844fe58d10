//! The catalogue's rules (issue 20, part 2): what a product's and an option's figures may be.
//! Prices are what checkout multiplies, so they are bounded well inside `Won`'s range; placed
//! orders copy them and never read them again.

use super::money::Won;

/// The highest unit price an option may have (1억 원).
pub const MAX_PRICE: Won = Won::new(100_000_000);
/// The most stock an option may be given at once.
pub const MAX_STOCK: i64 = 1_000_000;
/// The most images a product may show.
pub const MAX_IMAGES: usize = 10;

/// An option's figures as a seller gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionFigures {
    /// The unit price.
    pub price: Won,
    /// The seller's instant discount per unit (즉시할인).
    pub instant_discount: Won,
}

/// Why a catalogue edit is refused; each names its input field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A price out of range.
    #[error("price must be from 1원 to {max}, not {value}")]
    Price {
        /// The largest allowed.
        max: Won,
        /// What was given.
        value: Won,
    },
    /// An instant discount below zero or not below the price.
    #[error("instantDiscount must be from 0원 to less than the price ({price}), not {value}")]
    Discount {
        /// The option's price.
        price: Won,
        /// What was given.
        value: Won,
    },
    /// Stock out of range.
    #[error("stock must be from 0 to {MAX_STOCK} units, not {0}")]
    Stock(i64),
    /// Too many images, or one that is not an https URL.
    #[error("{0}")]
    Image(String),
}

impl CatalogueError {
    /// The input field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            CatalogueError::Price { .. } => "price",
            CatalogueError::Discount { .. } => "instantDiscount",
            CatalogueError::Stock(_) => "stock",
            CatalogueError::Image(_) => "imageUrls",
        }
    }
}

impl OptionFigures {
    /// The figures, or the first out of its range.
    pub fn checked(self) -> Result<OptionFigures, CatalogueError> {
        if !self.price.is_positive() || self.price > MAX_PRICE {
            return Err(CatalogueError::Price {
                max: MAX_PRICE,
                value: self.price,
            });
        }
        if self.instant_discount.is_negative() || self.instant_discount >= self.price {
            return Err(CatalogueError::Discount {
                price: self.price,
                value: self.instant_discount,
            });
        }
        Ok(self)
    }
}

/// A stock figure a seller sets at creation.
pub fn checked_stock(stock: i64) -> Result<i64, CatalogueError> {
    if (0..=MAX_STOCK).contains(&stock) {
        Ok(stock)
    } else {
        Err(CatalogueError::Stock(stock))
    }
}

/// Images by URL: at most [`MAX_IMAGES`], each `https://` with a host (a storefront embeds
/// them; plain http would be blocked as mixed content).
pub fn checked_images(urls: &[String]) -> Result<(), CatalogueError> {
    if urls.len() > MAX_IMAGES {
        return Err(CatalogueError::Image(format!(
            "a product shows at most {MAX_IMAGES} images, not {}",
            urls.len()
        )));
    }
    for url in urls {
        let host = url
            .strip_prefix("https://")
            .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
        if host.is_none_or(str::is_empty) {
            return Err(CatalogueError::Image(format!(
                "image `{url}` is not an https:// URL with a host"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(price: i64, discount: i64) -> Result<OptionFigures, CatalogueError> {
        OptionFigures {
            price: Won::new(price),
            instant_discount: Won::new(discount),
        }
        .checked()
    }

    #[test]
    fn figures_at_their_limits() {
        assert!(figures(1, 0).is_ok());
        assert!(figures(100_000_000, 99_999_999).is_ok());
        assert_eq!(figures(0, 0).map_err(|e| e.field()), Err("price"));
        assert_eq!(figures(100_000_001, 0).map_err(|e| e.field()), Err("price"));
        assert_eq!(
            figures(1000, 1000).map_err(|e| e.field()),
            Err("instantDiscount")
        );
        assert_eq!(
            figures(1000, -1).map_err(|e| e.field()),
            Err("instantDiscount")
        );
        assert_eq!(checked_stock(MAX_STOCK), Ok(MAX_STOCK));
        assert!(checked_stock(MAX_STOCK + 1).is_err());
        assert!(checked_stock(-1).is_err());
    }

    #[test]
    fn images_are_https_and_few() {
        let ok = vec!["https://cdn.example.com/a.jpg".to_owned(); MAX_IMAGES];
        assert!(checked_images(&ok).is_ok());
        let too_many = vec!["https://cdn.example.com/a.jpg".to_owned(); MAX_IMAGES + 1];
        assert!(checked_images(&too_many).is_err());
        for bad in [
            "http://cdn.example.com/a.jpg",
            "https:///a.jpg",
            "javascript:alert(1)",
            "",
        ] {
            assert!(checked_images(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
