//! `pg.project(points, rows, dim, options?)`: two principal components of a point cloud (a
//! head's queries and keys, for the queries-and-keys view), the covariance computed on the
//! instance's backend (see `crate::projection`).

use js_sys::{Float32Array, Object, Promise};
use wasm_bindgen::prelude::*;

use super::{js_field, parse, Playground};
use crate::projection;

#[wasm_bindgen(typescript_custom_section)]
const TS_PROJECT: &str = r#"
export interface ProjectOptions {
  /** 'pca' (the default and, for now, the only method) */
  method?: 'pca';
}
export interface ProjectionResult {
  method: 'pca';
  /** [rows, 2]: each point on the first and second principal component */
  coords: Float32Array;
  /** [2, dim]: the unit components, each with its largest-magnitude entry positive */
  components: Float32Array;
  /** [2]: the share of the total variance along each component */
  explained: Float32Array;
  /** [dim]: the points' mean, subtracted before projecting */
  mean: Float32Array;
  /** where the covariance was computed */
  backend: 'webgpu' | 'cpu';
}
"#;

#[wasm_bindgen]
impl Playground {
    /// `await pg.project(points, rows, dim, { method: 'pca' }?)`: `points` is [rows, dim]
    /// row-major (rows ≥ 2, 2 ≤ dim ≤ 256); the centred covariance is a matrix product on the
    /// active backend, its top two eigenvectors are found on the host.
    #[wasm_bindgen(unchecked_return_type = "Promise<ProjectionResult>")]
    pub fn project(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array | number[]")] points: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] rows: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] dim: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ProjectOptions")] options: JsValue,
    ) -> Promise {
        let args = (|| {
            let rows = parse::count(&rows, "project: rows", 0)?;
            let dim = parse::count(&dim, "project: dim", 0)?;
            if parse::optional_options(&options, "project: options", &["method"])? {
                parse::choice(&parse::get(&options, "method"), "project: options.method", "pca", &["pca"], &[])?;
            }
            let points = parse::floats(&points, "project: points")?;
            projection::check(&points, rows, dim)?;
            Ok((points, rows, dim))
        })();
        self.queue(args, async |shared, (points, rows, dim)| {
            let p = shared
                .run(async |engine| crate::on_backend!(engine, b => projection::pca(b, &points, rows, dim).await))
                .await?;
            let r = Object::new();
            js_field(&r, "method", &"pca".into());
            js_field(&r, "coords", &Float32Array::from(&p.coords[..]).into());
            js_field(&r, "components", &Float32Array::from(&p.components[..]).into());
            js_field(&r, "explained", &Float32Array::from(&p.explained[..]).into());
            js_field(&r, "mean", &Float32Array::from(&p.mean[..]).into());
            js_field(&r, "backend", &shared.kind.get().js_name().into());
            Ok(r.into())
        })
    }
}
